/* Time parsing and formatting, and the derived category and product of an event. */
#include "clickmill/event.h"

#include <string.h>

/* Days from 1970-01-01 to a civil date of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static void civil_from_days(int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;
    *day = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(year_of_era + era * 400 + (*month <= 2));
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* Reads exactly `width` decimal digits. */
static int read_digits(const char *text, int width, int *value)
{
    int result = 0;
    for (int i = 0; i < width; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        result = result * 10 + (text[i] - '0');
    }
    *value = result;
    return 0;
}

int cm_time_parse(const char *text, size_t len, int64_t *seconds)
{
    /* 0123456789012345678901 2 */
    /* YYYY-MM-DD HH:MM:SS UTC */
    int year, month, day, hour, minute, second;
    if (len != 23 || text[4] != '-' || text[7] != '-' || text[10] != ' ' || text[13] != ':' ||
        text[16] != ':' || memcmp(text + 19, " UTC", 4) != 0)
        return -1;
    if (read_digits(text, 4, &year) || read_digits(text + 5, 2, &month) ||
        read_digits(text + 8, 2, &day) || read_digits(text + 11, 2, &hour) ||
        read_digits(text + 14, 2, &minute) || read_digits(text + 17, 2, &second))
        return -1;
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
        hour > 23 || minute > 59 || second > 59)
        return -1;
    *seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void put_digits(char *out, int value, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

void cm_date_format(int64_t seconds, char out[11])
{
    int year, month, day;
    civil_from_days(floor_div(seconds, 86400), &year, &month, &day);
    put_digits(out, year % 10000, 4);
    out[4] = '-';
    put_digits(out + 5, month, 2);
    out[7] = '-';
    put_digits(out + 8, day, 2);
    out[10] = '\0';
}

void cm_time_format(int64_t seconds, char out[24])
{
    int in_day = (int)(seconds - floor_div(seconds, 86400) * 86400);
    cm_date_format(seconds, out);
    out[10] = ' ';
    put_digits(out + 11, in_day / 3600, 2);
    out[13] = ':';
    put_digits(out + 14, in_day / 60 % 60, 2);
    out[16] = ':';
    put_digits(out + 17, in_day % 60, 2);
    memcpy(out + 19, " UTC", 5);
}

int64_t cm_time_day(int64_t seconds)
{
    return floor_div(seconds, 86400);
}

int cm_time_hour(int64_t seconds)
{
    return (int)((seconds - floor_div(seconds, 86400) * 86400) / 3600);
}

int cm_time_weekday(int64_t seconds)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int64_t days = floor_div(seconds, 86400);
    return (int)(((days + 3) % 7 + 7) % 7);
}

static cm_text fallback(const cm_event *event)
{
    if (event->brand.len > 0)
        return event->brand;
    return (cm_text){"unknown", 7};
}

cm_text cm_event_category(const cm_event *event)
{
    const cm_text code = event->category_code;
    if (code.len == 0)
        return fallback(event);
    const char *dot = memchr(code.ptr, '.', code.len);
    return (cm_text){code.ptr, dot ? (size_t)(dot - code.ptr) : code.len};
}

cm_text cm_event_product(const cm_event *event)
{
    const cm_text code = event->category_code;
    if (code.len == 0)
        return fallback(event);
    size_t start = code.len;
    while (start > 0 && code.ptr[start - 1] != '.')
        start--;
    return (cm_text){code.ptr + start, code.len - start};
}
