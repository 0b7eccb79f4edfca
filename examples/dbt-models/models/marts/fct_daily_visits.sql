select
    cast(v.visited_at as date) as visit_date,
    v.clinic_code,
    count(*) as visit_count,
    count(distinct v.patient_id) as patient_count,
    sum(v.billed_amount) as billed_amount
from {{ ref('stg_visits') }} as v
where v.visit_status = 'completed'
group by 1, 2
