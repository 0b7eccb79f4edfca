with source as (
    select * from {{ source('raw', 'visits') }}
)

select
    cast(visit_id as integer) as visit_id,
    cast(patient_id as integer) as patient_id,
    upper(clinic_code) as clinic_code,
    cast(visit_ts as timestamp) as visited_at,
    {{ cents_to_dollars('billed_cents') }} as billed_amount,
    lower(status) as visit_status
from source
