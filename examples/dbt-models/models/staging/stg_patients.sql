with source as (
    select * from {{ source('raw', 'patients') }}
)

select
    cast(patient_id as integer) as patient_id,
    cast(birth_year as integer) as birth_year,
    upper(home_clinic_code) as home_clinic_code,
    cast(enrolled_at as date) as enrolled_on
from source
