with visits as (
    select
        patient_id,
        count(*) as lifetime_visits,
        max(visited_at) as last_visited_at
    from {{ ref('stg_visits') }}
    group by patient_id
)

select
    p.patient_id,
    p.birth_year,
    p.home_clinic_code,
    p.enrolled_on,
    coalesce(v.lifetime_visits, 0) as lifetime_visits,
    v.last_visited_at
from {{ ref('stg_patients') }} as p
left join visits as v on p.patient_id = v.patient_id
