-- clickmill's output tables, as read back from DIR/tables/NAME.csv.
--
--   csv_NAME    the CSV data rows exactly as imported (.import --csv --skip 1):
--               every column TEXT, rowid = line order in the file.
--   typed_NAME  the same rows with column types (INTEGER counts, REAL revenue),
--               filled with INSERT INTO typed_NAME SELECT * FROM csv_NAME, so
--               numbers compare as numbers (a non-numeric field stays TEXT and
--               never equals a number).
--   got_NAME    typed_NAME with revenue as integer cents: directly comparable
--               (EXCEPT) with exp_NAME from tables.sql.
--   bad_order_NAME  pairs of consecutive lines whose keys are not strictly
--               increasing (byte order; `hours` by number): must be empty.

CREATE TABLE csv_summary (rows TEXT, rows_rejected TEXT, users TEXT, sessions TEXT,
    products TEXT, revenue TEXT, first_event TEXT, last_event TEXT);
CREATE TABLE typed_summary (rows INTEGER, rows_rejected INTEGER, users INTEGER,
    sessions INTEGER, products INTEGER, revenue REAL, first_event TEXT, last_event TEXT);

CREATE TABLE csv_funnel (event_type TEXT, events TEXT, users TEXT, sessions TEXT);
CREATE TABLE typed_funnel (event_type TEXT, events INTEGER, users INTEGER, sessions INTEGER);

CREATE TABLE csv_categories (category TEXT, views TEXT, carts TEXT, purchases TEXT,
    revenue TEXT);
CREATE TABLE typed_categories (category TEXT, views INTEGER, carts INTEGER,
    purchases INTEGER, revenue REAL);

CREATE TABLE csv_category_brands (category TEXT, brand TEXT, views TEXT, carts TEXT,
    purchases TEXT, revenue TEXT);
CREATE TABLE typed_category_brands (category TEXT, brand TEXT, views INTEGER,
    carts INTEGER, purchases INTEGER, revenue REAL);

CREATE TABLE csv_category_products (category TEXT, product TEXT, views TEXT,
    carts TEXT, purchases TEXT, revenue TEXT);
CREATE TABLE typed_category_products (category TEXT, product TEXT, views INTEGER,
    carts INTEGER, purchases INTEGER, revenue REAL);

CREATE TABLE csv_brands (brand TEXT, views TEXT, carts TEXT, purchases TEXT,
    revenue TEXT);
CREATE TABLE typed_brands (brand TEXT, views INTEGER, carts INTEGER,
    purchases INTEGER, revenue REAL);

CREATE TABLE csv_days (date TEXT, views TEXT, carts TEXT, purchases TEXT,
    revenue TEXT, users TEXT, sessions TEXT);
CREATE TABLE typed_days (date TEXT, views INTEGER, carts INTEGER, purchases INTEGER,
    revenue REAL, users INTEGER, sessions INTEGER);

CREATE TABLE csv_hours (hour TEXT, views TEXT, carts TEXT, purchases TEXT,
    revenue TEXT, users TEXT, users_cumulative TEXT);
CREATE TABLE typed_hours (hour INTEGER, views INTEGER, carts INTEGER,
    purchases INTEGER, revenue REAL, users INTEGER, users_cumulative INTEGER);

-- revenue -> integer cents; a revenue that did not parse as a number stays
-- as it is (TEXT) so that it cannot match.
CREATE VIEW got_summary AS
SELECT rows, rows_rejected, users, sessions, products,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END,
       first_event, last_event
FROM typed_summary;

CREATE VIEW got_funnel AS
SELECT event_type, events, users, sessions FROM typed_funnel;

CREATE VIEW got_categories AS
SELECT category, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END
FROM typed_categories;

CREATE VIEW got_category_brands AS
SELECT category, brand, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END
FROM typed_category_brands;

CREATE VIEW got_category_products AS
SELECT category, product, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END
FROM typed_category_products;

CREATE VIEW got_brands AS
SELECT brand, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END
FROM typed_brands;

CREATE VIEW got_days AS
SELECT date, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END,
       users, sessions
FROM typed_days;

CREATE VIEW got_hours AS
SELECT hour, views, carts, purchases,
       CASE WHEN typeof(revenue) IN ('integer', 'real')
            THEN CAST(ROUND(revenue * 100) AS INTEGER) ELSE revenue END,
       users, users_cumulative
FROM typed_hours;

-- Ordering: each line's key must be strictly greater than the previous line's.
CREATE VIEW bad_order_summary AS
SELECT 'summary must have exactly one data row, found ' || count(*) AS problem
FROM csv_summary HAVING count(*) <> 1;

CREATE VIEW bad_order_funnel AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.event_type)
       || ' after ' || quote(a.event_type) AS problem
FROM csv_funnel a JOIN csv_funnel b ON b.rowid = a.rowid + 1
WHERE b.event_type <= a.event_type;

CREATE VIEW bad_order_categories AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.category)
       || ' after ' || quote(a.category) AS problem
FROM csv_categories a JOIN csv_categories b ON b.rowid = a.rowid + 1
WHERE b.category <= a.category;

CREATE VIEW bad_order_category_brands AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.category) || ',' || quote(b.brand)
       || ' after ' || quote(a.category) || ',' || quote(a.brand) AS problem
FROM csv_category_brands a JOIN csv_category_brands b ON b.rowid = a.rowid + 1
WHERE (b.category, b.brand) <= (a.category, a.brand);

CREATE VIEW bad_order_category_products AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.category) || ',' || quote(b.product)
       || ' after ' || quote(a.category) || ',' || quote(a.product) AS problem
FROM csv_category_products a JOIN csv_category_products b ON b.rowid = a.rowid + 1
WHERE (b.category, b.product) <= (a.category, a.product);

CREATE VIEW bad_order_brands AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.brand)
       || ' after ' || quote(a.brand) AS problem
FROM csv_brands a JOIN csv_brands b ON b.rowid = a.rowid + 1
WHERE b.brand <= a.brand;

CREATE VIEW bad_order_days AS
SELECT 'line ' || (b.rowid + 1) || ': ' || quote(b.date)
       || ' after ' || quote(a.date) AS problem
FROM csv_days a JOIN csv_days b ON b.rowid = a.rowid + 1
WHERE b.date <= a.date;

CREATE VIEW bad_order_hours AS
SELECT 'line ' || (b.rowid + 1) || ': hour ' || quote(b.hour)
       || ' after ' || quote(a.hour) AS problem
FROM csv_hours a JOIN csv_hours b ON b.rowid = a.rowid + 1
WHERE CAST(b.hour AS INTEGER) <= CAST(a.hour AS INTEGER);
