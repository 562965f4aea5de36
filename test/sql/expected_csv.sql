-- The exact bytes clickmill must write to DIR/tables/NAME.csv, derived from the
-- exp_NAME tables (tables.sql): one view exp_csv_NAME(seq, line) per table,
-- data lines only (the header line is checked separately), `seq` giving the
-- line order: sorted by the key columns in byte order (SQLite's BINARY
-- collation is memcmp), `hours` by hour number.
--
-- RFC 4180 as in the contract: a field is quoted when it holds a comma, a
-- double quote, CR or LF, and quotes inside are doubled.  `revenue` is written
-- with exactly 2 decimals, from the integer cents (no floating point).
--
-- The two expressions repeated below are
--   quoted(s):  CASE WHEN instr(s, ',') OR instr(s, '"') OR instr(s, char(13))
--                     OR instr(s, char(10))
--                    THEN '"' || replace(s, '"', '""') || '"' ELSE s END
--   money(c):   CASE WHEN c < 0 THEN '-' ELSE '' END
--                 || printf('%d.%02d', abs(c) / 100, abs(c) % 100)

CREATE VIEW exp_csv_summary AS
SELECT 1 AS seq,
       rows || ',' || rows_rejected || ',' || users || ',' || sessions || ','
       || products || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100)
       || ',' || first_event || ',' || last_event AS line
FROM exp_summary;

CREATE VIEW exp_csv_funnel AS
SELECT row_number() OVER (ORDER BY event_type) AS seq,
       CASE WHEN instr(event_type, ',') OR instr(event_type, '"')
                 OR instr(event_type, char(13)) OR instr(event_type, char(10))
            THEN '"' || replace(event_type, '"', '""') || '"' ELSE event_type END
       || ',' || events || ',' || users || ',' || sessions AS line
FROM exp_funnel;

CREATE VIEW exp_csv_categories AS
SELECT row_number() OVER (ORDER BY category) AS seq,
       CASE WHEN instr(category, ',') OR instr(category, '"')
                 OR instr(category, char(13)) OR instr(category, char(10))
            THEN '"' || replace(category, '"', '""') || '"' ELSE category END
       || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100) AS line
FROM exp_categories;

CREATE VIEW exp_csv_category_brands AS
SELECT row_number() OVER (ORDER BY category, brand) AS seq,
       CASE WHEN instr(category, ',') OR instr(category, '"')
                 OR instr(category, char(13)) OR instr(category, char(10))
            THEN '"' || replace(category, '"', '""') || '"' ELSE category END
       || ','
       || CASE WHEN instr(brand, ',') OR instr(brand, '"')
                    OR instr(brand, char(13)) OR instr(brand, char(10))
               THEN '"' || replace(brand, '"', '""') || '"' ELSE brand END
       || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100) AS line
FROM exp_category_brands;

CREATE VIEW exp_csv_category_products AS
SELECT row_number() OVER (ORDER BY category, product) AS seq,
       CASE WHEN instr(category, ',') OR instr(category, '"')
                 OR instr(category, char(13)) OR instr(category, char(10))
            THEN '"' || replace(category, '"', '""') || '"' ELSE category END
       || ','
       || CASE WHEN instr(product, ',') OR instr(product, '"')
                    OR instr(product, char(13)) OR instr(product, char(10))
               THEN '"' || replace(product, '"', '""') || '"' ELSE product END
       || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100) AS line
FROM exp_category_products;

CREATE VIEW exp_csv_brands AS
SELECT row_number() OVER (ORDER BY brand) AS seq,
       CASE WHEN instr(brand, ',') OR instr(brand, '"')
                 OR instr(brand, char(13)) OR instr(brand, char(10))
            THEN '"' || replace(brand, '"', '""') || '"' ELSE brand END
       || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100) AS line
FROM exp_brands;

CREATE VIEW exp_csv_days AS
SELECT row_number() OVER (ORDER BY date) AS seq,
       date || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100)
       || ',' || users || ',' || sessions AS line
FROM exp_days;

CREATE VIEW exp_csv_hours AS
SELECT row_number() OVER (ORDER BY hour) AS seq,
       hour || ',' || views || ',' || carts || ',' || purchases || ','
       || CASE WHEN revenue_cents < 0 THEN '-' ELSE '' END
       || printf('%d.%02d', abs(revenue_cents) / 100, abs(revenue_cents) % 100)
       || ',' || users || ',' || users_cumulative AS line
FROM exp_hours;
