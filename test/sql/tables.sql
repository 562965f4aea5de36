-- Expected clickmill tables (docs/data-contract.md), computed from `events`
-- (see events.sql).  One table exp_NAME per clickmill table NAME, with the
-- contract's columns in the contract's order, except that `revenue` is kept
-- as an exact integer number of cents (column revenue_cents).
--
-- Assumptions: every input row is accepted (the test inputs are all valid
-- rows), so rows_rejected is 0.

-- One row per event, with the derived fields of the contract.
CREATE TABLE ev AS
SELECT
    event_time,
    event_type,
    product_id,
    user_id,
    brand,
    -- sessions count non-empty values only: NULL is ignored by count(DISTINCT)
    NULLIF(user_session, '')                              AS session,
    -- first `.`-segment of category_code, else brand, else 'unknown'
    CASE
        WHEN category_code <> '' AND instr(category_code, '.') > 0
            THEN substr(category_code, 1, instr(category_code, '.') - 1)
        WHEN category_code <> '' THEN category_code
        WHEN brand <> ''         THEN brand
        ELSE 'unknown'
    END                                                   AS category,
    -- last `.`-segment of category_code, same fallback.  rtrim() with the set
    -- of all non-dot characters of the code strips exactly the last segment,
    -- so its length is where the last segment starts.
    CASE
        WHEN category_code <> ''
            THEN substr(category_code,
                        length(rtrim(category_code,
                                     replace(category_code, '.', ''))) + 1)
        WHEN brand <> '' THEN brand
        ELSE 'unknown'
    END                                                   AS product,
    substr(event_time, 1, 10)                             AS date,
    CAST(substr(event_time, 12, 2) AS INTEGER)            AS hour,
    (event_type = 'view')                                 AS is_view,
    (event_type = 'cart')                                 AS is_cart,
    (event_type = 'purchase')                             AS is_purchase,
    CASE WHEN event_type = 'purchase'
         THEN CAST(ROUND(CAST(price AS REAL) * 100) AS INTEGER)
         ELSE 0
    END                                                   AS purchase_cents
FROM events;

CREATE TABLE exp_summary AS
SELECT
    count(*)                        AS rows,
    0                               AS rows_rejected,
    count(DISTINCT user_id)         AS users,
    count(DISTINCT session)         AS sessions,
    count(DISTINCT product_id)      AS products,
    coalesce(sum(purchase_cents), 0) AS revenue_cents,
    coalesce(min(event_time), '')   AS first_event,
    coalesce(max(event_time), '')   AS last_event
FROM ev;

CREATE TABLE exp_funnel AS
SELECT
    event_type,
    count(*)                AS events,
    count(DISTINCT user_id) AS users,
    count(DISTINCT session) AS sessions
FROM ev
GROUP BY event_type;

CREATE TABLE exp_categories AS
SELECT
    category,
    sum(is_view)        AS views,
    sum(is_cart)        AS carts,
    sum(is_purchase)    AS purchases,
    sum(purchase_cents) AS revenue_cents
FROM ev
GROUP BY category;

CREATE TABLE exp_category_brands AS
SELECT
    category,
    brand,
    sum(is_view)        AS views,
    sum(is_cart)        AS carts,
    sum(is_purchase)    AS purchases,
    sum(purchase_cents) AS revenue_cents
FROM ev
GROUP BY category, brand;

CREATE TABLE exp_category_products AS
SELECT
    category,
    product,
    sum(is_view)        AS views,
    sum(is_cart)        AS carts,
    sum(is_purchase)    AS purchases,
    sum(purchase_cents) AS revenue_cents
FROM ev
GROUP BY category, product;

CREATE TABLE exp_brands AS
SELECT
    brand,
    sum(is_view)        AS views,
    sum(is_cart)        AS carts,
    sum(is_purchase)    AS purchases,
    sum(purchase_cents) AS revenue_cents
FROM ev
GROUP BY brand;

CREATE TABLE exp_days AS
SELECT
    date,
    sum(is_view)            AS views,
    sum(is_cart)            AS carts,
    sum(is_purchase)        AS purchases,
    sum(purchase_cents)     AS revenue_cents,
    count(DISTINCT user_id) AS users,
    count(DISTINCT session) AS sessions
FROM ev
GROUP BY date;

-- Always 24 rows.  users_cumulative(h) = users whose earliest hour of day,
-- over all their events on any date, is <= h.
CREATE TABLE exp_hours AS
WITH RECURSIVE
    hours_of_day(hour) AS (
        SELECT 0 UNION ALL SELECT hour + 1 FROM hours_of_day WHERE hour < 23
    ),
    per_hour AS (
        SELECT hour,
               sum(is_view)            AS views,
               sum(is_cart)            AS carts,
               sum(is_purchase)        AS purchases,
               sum(purchase_cents)     AS revenue_cents,
               count(DISTINCT user_id) AS users
        FROM ev
        GROUP BY hour
    ),
    first_hour AS (
        SELECT user_id, min(hour) AS hour FROM ev GROUP BY user_id
    )
SELECT
    h.hour                           AS hour,
    coalesce(p.views, 0)             AS views,
    coalesce(p.carts, 0)             AS carts,
    coalesce(p.purchases, 0)         AS purchases,
    coalesce(p.revenue_cents, 0)     AS revenue_cents,
    coalesce(p.users, 0)             AS users,
    (SELECT count(*) FROM first_hour f WHERE f.hour <= h.hour) AS users_cumulative
FROM hours_of_day h
LEFT JOIN per_hour p ON p.hour = h.hour
ORDER BY h.hour;
