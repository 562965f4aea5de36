"""The output tables of docs/data-contract.md: names and column lists, for the bench scripts."""

TABLES = {
    "summary": "rows,rows_rejected,users,sessions,products,revenue,first_event,last_event",
    "funnel": "event_type,events,users,sessions",
    "categories": "category,views,carts,purchases,revenue",
    "category_brands": "category,brand,views,carts,purchases,revenue",
    "category_products": "category,product,views,carts,purchases,revenue",
    "brands": "brand,views,carts,purchases,revenue",
    "days": "date,views,carts,purchases,revenue,users,sessions",
    "hours": "hour,views,carts,purchases,revenue,users,users_cumulative",
}
