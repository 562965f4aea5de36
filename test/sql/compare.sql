-- Set comparison of clickmill's table @T@ (got_@T@, clickmill_tables.sql) with
-- SQLite's (exp_@T@, tables.sql); test/integration.sh substitutes @T@.
-- Prints nothing when they are equal, else the first differing rows.
.mode quote
SELECT 'expected but missing:', * FROM
    (SELECT * FROM exp_@T@ EXCEPT SELECT * FROM got_@T@) LIMIT 5;
SELECT 'in clickmill but not expected:', * FROM
    (SELECT * FROM got_@T@ EXCEPT SELECT * FROM exp_@T@) LIMIT 5;
SELECT 'row count: expected ' || e || ', clickmill ' || g
FROM (SELECT (SELECT count(*) FROM exp_@T@) AS e, (SELECT count(*) FROM got_@T@) AS g)
WHERE e <> g;
