/* ingest_robots.c: robots.txt parsing and matching (see ingest_robots.h). */
#include "ingest_robots.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *pattern;
    int allow;
} RobotsRule;

struct IngestRobots {
    RobotsRule *rules;
    int n, cap;
    int disallow_all;     /* unreachable robots.txt */
    double delay;
};

typedef struct {
    RobotsRule *rules;
    int n, cap;
    double delay;
    int seen;             /* some group matched */
} RuleSet;

static int push_rule(RuleSet *s, const char *pat, size_t len, int allow)
{
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 16;
        RobotsRule *nr = realloc(s->rules, (size_t)nc * sizeof *nr);
        if (!nr) return -1;
        s->rules = nr;
        s->cap = nc;
    }
    char *p = strndup(pat, len);
    if (!p) return -1;
    s->rules[s->n].pattern = p;
    s->rules[s->n].allow = allow;
    s->n++;
    return 0;
}

static void set_free(RuleSet *s)
{
    for (int i = 0; i < s->n; i++) free(s->rules[i].pattern);
    free(s->rules);
}

/* Does the product token in a User-agent line match ours? */
static int agent_matches(const char *value, size_t len, const char *agent)
{
    size_t al = strlen(agent);
    return len == al && strncasecmp(value, agent, al) == 0;
}

EmoStatus ingest_robots_parse(const char *text, size_t size, const char *agent, IngestRobots **out, EmoError *err)
{
    *out = NULL;
    RuleSet mine = {0}, star = {0};
    int group_mine = 0, group_star = 0, in_agents = 0;
    size_t i = 0;
    int oom = 0;
    while (i < size && !oom) {
        size_t j = i;
        while (j < size && text[j] != '\n' && text[j] != '\r') j++;
        size_t end = j;
        for (size_t k = i; k < j; k++)
            if (text[k] == '#') { end = k; break; }
        const char *line = text + i;
        size_t len = end - i;
        i = j + 1;
        while (len && isspace((unsigned char)line[len - 1])) len--;
        while (len && isspace((unsigned char)*line)) line++, len--;
        const char *colon = memchr(line, ':', len);
        if (!colon) continue;
        size_t klen = (size_t)(colon - line);
        while (klen && isspace((unsigned char)line[klen - 1])) klen--;
        const char *val = colon + 1;
        size_t vlen = len - (size_t)(val - line);
        while (vlen && isspace((unsigned char)*val)) val++, vlen--;
        if (klen == 10 && strncasecmp(line, "user-agent", 10) == 0) {
            if (!in_agents) group_mine = group_star = 0; /* a new group starts */
            in_agents = 1;
            if (vlen == 1 && *val == '*') group_star = 1;
            else if (agent_matches(val, vlen, agent)) group_mine = 1;
            continue;
        }
        in_agents = 0;
        int allow = klen == 5 && strncasecmp(line, "allow", 5) == 0;
        int disallow = klen == 8 && strncasecmp(line, "disallow", 8) == 0;
        int delay = klen == 11 && strncasecmp(line, "crawl-delay", 11) == 0;
        if (!allow && !disallow && !delay) continue; /* sitemap, host, ... */
        RuleSet *sets[2] = {group_mine ? &mine : NULL, group_star ? &star : NULL};
        for (int s = 0; s < 2; s++) {
            if (!sets[s]) continue;
            sets[s]->seen = 1;
            if (delay) {
                char buf[32];
                size_t n = vlen < sizeof buf - 1 ? vlen : sizeof buf - 1;
                memcpy(buf, val, n);
                buf[n] = 0;
                double d = strtod(buf, NULL);
                if (d > 0 && d < 3600) sets[s]->delay = d;
            } else if (vlen > 0) { /* an empty Disallow allows everything: no rule */
                if (push_rule(sets[s], val, vlen, allow) != 0) oom = 1;
            }
        }
        if (group_mine || group_star) {
            if (group_mine) mine.seen = 1;
            if (group_star) star.seen = 1;
        }
    }
    IngestRobots *r = oom ? NULL : calloc(1, sizeof *r);
    if (!r) {
        set_free(&mine);
        set_free(&star);
        return emo_error_set(err, EMO_ERR_NOMEM, "robots.txt: out of memory");
    }
    RuleSet *use = mine.seen ? &mine : &star;
    RuleSet *drop = mine.seen ? &star : &mine;
    r->rules = use->rules;
    r->n = use->n;
    r->delay = use->delay;
    set_free(drop);
    *out = r;
    return EMO_OK;
}

EmoStatus ingest_robots_fixed(int allow_all, IngestRobots **out, EmoError *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return emo_error_set(err, EMO_ERR_NOMEM, "robots.txt: out of memory");
    (*out)->disallow_all = !allow_all;
    return EMO_OK;
}

/* Does the pattern match path? Patterns match a prefix unless they end in
 * '$'; '*' matches any run. Greedy matching with one backtrack point: linear
 * in practice and never exponential, whatever a hostile robots.txt holds. */
static int pattern_matches(const char *pat, const char *path)
{
    size_t pn = strlen(pat), sn = strlen(path);
    int anchored = pn > 0 && pat[pn - 1] == '$';
    if (anchored) pn--;
    size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;
    for (;;) {
        if (!anchored && pi == pn) return 1;
        if (si == sn) break;
        if (pi < pn && pat[pi] == '*') {
            star = pi++;
            mark = si;
        } else if (pi < pn && pat[pi] == path[si]) {
            pi++;
            si++;
        } else if (star != (size_t)-1) {
            pi = star + 1;
            si = ++mark;
        } else {
            return 0;
        }
    }
    while (pi < pn && pat[pi] == '*') pi++;
    return pi == pn;
}

int ingest_robots_allowed(const IngestRobots *r, const char *path)
{
    if (strcmp(path, "/robots.txt") == 0) return 1;
    if (r->disallow_all) return 0;
    int best_len = -1, best_allow = 1;
    for (int i = 0; i < r->n; i++) {
        int len = (int)strlen(r->rules[i].pattern);
        if (!pattern_matches(r->rules[i].pattern, path)) continue;
        if (len > best_len || (len == best_len && r->rules[i].allow)) {
            best_len = len;
            best_allow = r->rules[i].allow;
        }
    }
    return best_allow;
}

double ingest_robots_crawl_delay(const IngestRobots *r)
{
    return r->delay;
}

void ingest_robots_free(IngestRobots *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) free(r->rules[i].pattern);
    free(r->rules);
    free(r);
}
