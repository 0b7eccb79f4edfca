-- Singular test: no visit may be dated after the day the model was built.
select visit_date
from {{ ref('fct_daily_visits') }}
where visit_date > current_date
