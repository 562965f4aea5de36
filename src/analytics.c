/* Aggregates events into group-by tables and distinct-count keys, merges them, builds tables. */
#include "clickmill/analytics.h"

#include <stdlib.h>
#include <string.h>

#include "clickmill/error.h"
#include "clickmill/merge.h"

/* The group-by tables, named by the first part of a groups key. */
enum { G_FUNNEL = 1, G_CATEGORY, G_CATEGORY_BRAND, G_CATEGORY_PRODUCT, G_BRAND, G_DAY };
enum { V_VIEWS, V_CARTS, V_PURCHASES, V_REVENUE, V_EVENTS, V_NCOLS };

/* Distinct counts: each key is (entity, question, group). Entities are users, sessions and
 * products; after cm_table_exchange all keys of one entity are on one rank, so each owner counts
 * its entities exactly and the counts add up. */
enum { E_USER = 'u', E_SESSION = 's', E_PRODUCT = 'p' };
enum { Q_ANY = 1, Q_TYPE, Q_DAY, Q_HOUR, Q_FIRST_HOUR };

void cm_analytics_init(cm_analytics *analytics)
{
    memset(analytics, 0, sizeof *analytics);
    cm_table_init(&analytics->groups, V_NCOLS, NULL);
    /* The one column keeps the earliest hour of day of a user (for users_cumulative). */
    const cm_merge_op earliest[1] = {CM_MERGE_MIN};
    cm_table_init(&analytics->distinct, 1, earliest);
    analytics->first_time = INT64_MAX;
    analytics->last_time = INT64_MIN;
}

void cm_analytics_free(cm_analytics *analytics)
{
    cm_table_free(&analytics->groups);
    cm_table_free(&analytics->distinct);
}

static void add_group(cm_analytics *analytics, const cm_key *key, const cm_event *event)
{
    int64_t *values = cm_table_upsert(&analytics->groups, key->bytes, key->len);
    if (event->type != CM_TYPE_OTHER)
        values[event->type]++; /* V_VIEWS, V_CARTS, V_PURCHASES share the type's number */
    if (event->type == CM_TYPE_PURCHASE)
        values[V_REVENUE] += event->price_cents;
    values[V_EVENTS]++;
}

static void start_group(cm_key *key, int table)
{
    char id = (char)table;
    cm_key_reset(key);
    cm_key_add_text(key, &id, 1);
}

static void start_entity(cm_key *key, char kind, const void *bytes, size_t len)
{
    char part[256];
    part[0] = kind;
    memcpy(part + 1, bytes, len);
    cm_key_reset(key);
    cm_key_add_text(key, part, len + 1);
}

/* Adds (entity, question, group) to the distinct keys. The entity key is extended in place and
 * restored, so the row's keys share one buffer. */
static void add_distinct(cm_analytics *analytics, cm_key *entity, int question, const char *group,
                         size_t group_len, int64_t value)
{
    size_t entity_len = entity->len;
    char q = (char)question;
    cm_key_add_text(entity, &q, 1);
    if (group)
        cm_key_add_text(entity, group, group_len);
    int64_t *row = cm_table_upsert(&analytics->distinct, entity->bytes, entity->len);
    row[0] = value < row[0] ? value : row[0];
    entity->len = entity_len;
}

int cm_analytics_add(void *ctx, const cm_event *event)
{
    cm_analytics *analytics = ctx;
    cm_text category = cm_event_category(event);
    cm_text product = cm_event_product(event);
    int hour = cm_time_hour(event->time);
    int64_t day = event->time >= 0 ? event->time / 86400 : -((-event->time + 86399) / 86400);
    cm_key key, day_key, hour_key;

    cm_key_reset(&day_key);
    cm_key_add_int(&day_key, day);
    cm_key_reset(&hour_key);
    cm_key_add_int(&hour_key, hour);

    start_group(&key, G_FUNNEL);
    cm_key_add_text(&key, event->type_name.ptr, event->type_name.len);
    add_group(analytics, &key, event);
    start_group(&key, G_CATEGORY);
    cm_key_add_text(&key, category.ptr, category.len);
    add_group(analytics, &key, event);
    cm_key_add_text(&key, event->brand.ptr, event->brand.len);
    key.bytes[1] = G_CATEGORY_BRAND;
    add_group(analytics, &key, event);
    start_group(&key, G_CATEGORY_PRODUCT);
    cm_key_add_text(&key, category.ptr, category.len);
    cm_key_add_text(&key, product.ptr, product.len);
    add_group(analytics, &key, event);
    start_group(&key, G_BRAND);
    cm_key_add_text(&key, event->brand.ptr, event->brand.len);
    add_group(analytics, &key, event);
    start_group(&key, G_DAY);
    cm_key_add_int(&key, day);
    add_group(analytics, &key, event);

    int64_t *hour_row = analytics->hours[hour];
    if (event->type != CM_TYPE_OTHER)
        hour_row[event->type]++;
    if (event->type == CM_TYPE_PURCHASE)
        hour_row[V_REVENUE] += event->price_cents;
    if (event->time < analytics->first_time)
        analytics->first_time = event->time;
    if (event->time > analytics->last_time)
        analytics->last_time = event->time;

    const cm_text type = event->type_name;
    char user_bytes[8];
    memcpy(user_bytes, &event->user_id, 8);
    start_entity(&key, E_USER, user_bytes, 8);
    add_distinct(analytics, &key, Q_ANY, NULL, 0, hour);
    add_distinct(analytics, &key, Q_TYPE, type.ptr, type.len, 0);
    add_distinct(analytics, &key, Q_DAY, (const char *)day_key.bytes + 1, 8, 0);
    add_distinct(analytics, &key, Q_HOUR, (const char *)hour_key.bytes + 1, 8, 0);
    if (event->user_session.len > 0) {
        start_entity(&key, E_SESSION, event->user_session.ptr, event->user_session.len);
        add_distinct(analytics, &key, Q_ANY, NULL, 0, 0);
        add_distinct(analytics, &key, Q_TYPE, type.ptr, type.len, 0);
        add_distinct(analytics, &key, Q_DAY, (const char *)day_key.bytes + 1, 8, 0);
    }
    char product_bytes[8];
    memcpy(product_bytes, &event->product_id, 8);
    start_entity(&key, E_PRODUCT, product_bytes, 8);
    add_distinct(analytics, &key, Q_ANY, NULL, 0, 0);
    return 0;
}

/* On each owner: turns the distinct keys into counts per (entity kind, question, group). */
static void count_distinct(const cm_table *distinct, cm_table *counts)
{
    cm_key_reader reader;
    for (size_t i = 0; i < distinct->count; i++) {
        size_t len, entity_len, question_len, group_len = 0;
        const char *key = cm_table_key(distinct, i, &len);
        cm_key_reader_init(&reader, key, len);
        const char *entity = cm_key_next(&reader, &entity_len);
        const char *question = cm_key_next(&reader, &question_len);
        const char *group = cm_key_next(&reader, &group_len);
        cm_key out;
        char head[2] = {entity[0], question[0]};
        cm_key_reset(&out);
        cm_key_add_text(&out, head, 2);
        if (group)
            cm_key_add_text(&out, group, group_len);
        int64_t one = 1;
        cm_table_merge_row(counts, out.bytes, out.len, &one);
        if (entity[0] == E_USER && question[0] == Q_ANY) {
            /* The user's earliest hour of day, for users_cumulative. */
            head[1] = Q_FIRST_HOUR;
            cm_key_reset(&out);
            cm_key_add_text(&out, head, 2);
            cm_key_add_int(&out, cm_table_values(distinct, i)[0]);
            cm_table_merge_row(counts, out.bytes, out.len, &one);
        }
    }
}

static int64_t count_of(const cm_table *counts, char kind, char question, const char *group,
                        size_t group_len)
{
    cm_key key;
    char head[2] = {kind, question};
    cm_key_reset(&key);
    cm_key_add_text(&key, head, 2);
    if (group)
        cm_key_add_text(&key, group, group_len);
    const int64_t *row = cm_table_find(counts, key.bytes, key.len);
    return row ? row[0] : 0;
}

static void put_counts(cm_cell *cells, const int64_t *values)
{
    cells[0].num = values[V_VIEWS];
    cells[1].num = values[V_CARTS];
    cells[2].num = values[V_PURCHASES];
    cells[3].num = values[V_REVENUE];
}

static void build_tables(const cm_table *groups, const cm_table *counts, const int64_t hours[24][4],
                         cm_results *results)
{
    cm_key_reader reader;
    for (size_t i = 0; i < groups->count; i++) {
        size_t len, part_len[3] = {0, 0, 0};
        const char *key = cm_table_key(groups, i, &len);
        const int64_t *values = cm_table_values(groups, i);
        cm_key_reader_init(&reader, key, len);
        const char *id = cm_key_next(&reader, &part_len[0]);
        const char *first = cm_key_next(&reader, &part_len[1]);
        const char *second = cm_key_next(&reader, &part_len[2]);
        cm_cell *row;
        switch (id[0]) {
        case G_FUNNEL:
            row = cm_result_add_row(&results->tables[CM_T_FUNNEL]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            row[1].num = values[V_EVENTS];
            row[2].num = count_of(counts, E_USER, Q_TYPE, first, part_len[1]);
            row[3].num = count_of(counts, E_SESSION, Q_TYPE, first, part_len[1]);
            break;
        case G_CATEGORY:
        case G_BRAND:
            row = cm_result_add_row(
                &results->tables[id[0] == G_CATEGORY ? CM_T_CATEGORIES : CM_T_BRANDS]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            put_counts(row + 1, values);
            break;
        case G_CATEGORY_BRAND:
        case G_CATEGORY_PRODUCT:
            row = cm_result_add_row(
                &results->tables[id[0] == G_CATEGORY_BRAND ? CM_T_CATEGORY_BRANDS
                                                           : CM_T_CATEGORY_PRODUCTS]);
            row[0].text = cm_xstrndup(first, part_len[1]);
            row[1].text = cm_xstrndup(second, part_len[2]);
            put_counts(row + 2, values);
            break;
        case G_DAY: {
            char date[11];
            cm_date_format(cm_key_part_int(first) * 86400, date);
            row = cm_result_add_row(&results->tables[CM_T_DAYS]);
            row[0].text = cm_xstrdup(date);
            put_counts(row + 1, values);
            row[5].num = count_of(counts, E_USER, Q_DAY, first, part_len[1]);
            row[6].num = count_of(counts, E_SESSION, Q_DAY, first, part_len[1]);
            break;
        }
        }
    }

    int64_t cumulative = 0;
    for (int hour = 0; hour < 24; hour++) {
        cm_key hour_key;
        cm_key_reset(&hour_key);
        cm_key_add_int(&hour_key, hour);
        const char *group = (const char *)hour_key.bytes + 1;
        cm_cell *row = cm_result_add_row(&results->tables[CM_T_HOURS]);
        row[0].num = hour;
        put_counts(row + 1, hours[hour]);
        row[5].num = count_of(counts, E_USER, Q_HOUR, group, 8);
        cumulative += count_of(counts, E_USER, Q_FIRST_HOUR, group, 8);
        row[6].num = cumulative;
    }
    for (int t = 0; t < CM_NTABLES; t++)
        cm_result_sort(&results->tables[t]);
}

void cm_analytics_finish(MPI_Comm comm, cm_analytics *analytics, cm_results *results)
{
    int rank;
    CM_MPI_CHECK(comm, MPI_Comm_rank(comm, &rank));

    /* Fixed-size arrays: one reduction each. */
    int64_t hours[24][4];
    int64_t first_time, last_time;
    CM_MPI_CHECK(comm, MPI_Reduce(analytics->hours, hours, 24 * 4, MPI_INT64_T, MPI_SUM, 0, comm));
    CM_MPI_CHECK(comm,
                 MPI_Reduce(&analytics->first_time, &first_time, 1, MPI_INT64_T, MPI_MIN, 0, comm));
    CM_MPI_CHECK(comm,
                 MPI_Reduce(&analytics->last_time, &last_time, 1, MPI_INT64_T, MPI_MAX, 0, comm));

    /* Keyed tables: group-bys reduce to rank 0; distinct keys go to their owners, are counted
     * there, and the counts reduce to rank 0. */
    cm_table_reduce(comm, &analytics->groups);
    cm_table_exchange(comm, &analytics->distinct);
    cm_table counts;
    cm_table_init(&counts, 1, NULL);
    count_distinct(&analytics->distinct, &counts);
    cm_table_free(&analytics->distinct);
    cm_table_reduce(comm, &counts);

    if (rank == 0) {
        build_tables(&analytics->groups, &counts, (const int64_t(*)[4])hours, results);
        cm_cell *summary = cm_result_add_row(&results->tables[CM_T_SUMMARY]);
        summary[0].num = results->rows_read;
        summary[1].num = results->rows_rejected;
        summary[2].num = count_of(&counts, E_USER, Q_ANY, NULL, 0);
        summary[3].num = count_of(&counts, E_SESSION, Q_ANY, NULL, 0);
        summary[4].num = count_of(&counts, E_PRODUCT, Q_ANY, NULL, 0);
        for (int hour = 0; hour < 24; hour++)
            summary[5].num += hours[hour][V_REVENUE];
        char time[24] = "";
        if (first_time != INT64_MAX)
            cm_time_format(first_time, time);
        summary[6].text = cm_xstrdup(time);
        time[0] = '\0';
        if (last_time != INT64_MIN)
            cm_time_format(last_time, time);
        summary[7].text = cm_xstrdup(time);
    }
    cm_table_free(&counts);
    cm_table_free(&analytics->groups);
}
