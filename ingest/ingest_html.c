/* ingest_html.c: link extraction with libxml2's HTML parser (see ingest_html.h). */
#include "ingest_html.h"

#include <ctype.h>
#include <limits.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest_http.h"

typedef struct {
    IngestLink *v;
    int n, cap;
    char *base;
    int oom;
} LinkList;

static void add_link(LinkList *l, const char *ref, int is_image)
{
    if (!ref || !*ref) return;
    char *url = ingest_url_resolve(l->base, ref);
    if (!url) return;
    if (l->n == l->cap) {
        int nc = l->cap ? l->cap * 2 : 32;
        IngestLink *nv = realloc(l->v, (size_t)nc * sizeof *nv);
        if (!nv) {
            free(url);
            l->oom = 1;
            return;
        }
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n].url = url;
    l->v[l->n].is_image = is_image;
    l->n++;
}

static const char *attr(xmlNode *node, const char *name, char **hold)
{
    *hold = (char *)xmlGetProp(node, (const xmlChar *)name);
    return *hold;
}

/* First URL of a srcset ("a.jpg 1x, b.jpg 2x"). */
static char *first_srcset(const char *srcset)
{
    while (isspace((unsigned char)*srcset)) srcset++;
    size_t n = 0;
    while (srcset[n] && !isspace((unsigned char)srcset[n]) && srcset[n] != ',') n++;
    return n ? strndup(srcset, n) : NULL;
}

static void visit(LinkList *l, xmlNode *node)
{
    const char *name = (const char *)node->name;
    char *hold = NULL;
    if (strcasecmp(name, "base") == 0) {
        const char *href = attr(node, "href", &hold);
        char *nb = href ? ingest_url_resolve(l->base, href) : NULL;
        if (nb) {
            free(l->base);
            l->base = nb;
        }
    } else if (strcasecmp(name, "img") == 0) {
        const char *src = attr(node, "src", &hold);
        if (src && *src) {
            add_link(l, src, 1);
        } else {
            xmlFree(hold);
            hold = NULL;
            const char *set = attr(node, "srcset", &hold);
            char *first = set ? first_srcset(set) : NULL;
            add_link(l, first, 1);
            free(first);
        }
    } else if (strcasecmp(name, "a") == 0) {
        add_link(l, attr(node, "href", &hold), 0);
    } else if (strcasecmp(name, "link") == 0) {
        char *rel_hold = NULL;
        const char *rel = attr(node, "rel", &rel_hold);
        if (rel && strcasecmp(rel, "image_src") == 0) add_link(l, attr(node, "href", &hold), 1);
        xmlFree(rel_hold);
    }
    xmlFree(hold);
}

EmoStatus ingest_html_links(const uint8_t *html, size_t size, const char *base_url, IngestLink **links, int *n,
                            EmoError *err)
{
    *links = NULL;
    *n = 0;
    LinkList l = {0};
    l.base = strdup(base_url);
    if (!l.base) return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", base_url);
    int len = size > (size_t)INT_MAX ? INT_MAX : (int)size;
    htmlDocPtr doc = htmlReadMemory((const char *)html, len, base_url, NULL,
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_COMPACT);
    if (doc) {
        /* Iterative pre-order walk: no recursion depth to exhaust. Only
         * element nodes are descended into (entity references share their
         * children with the entity's declaration). */
        xmlNode *root = xmlDocGetRootElement(doc);
        xmlNode *node = root;
        while (node && !l.oom) {
            if (node->type == XML_ELEMENT_NODE) {
                visit(&l, node);
                if (node->children) {
                    node = node->children;
                    continue;
                }
            }
            while (node != root && !node->next) node = node->parent;
            if (node == root) break;
            node = node->next;
        }
        xmlFreeDoc(doc);
    }
    free(l.base);
    if (l.oom) {
        ingest_links_free(l.v, l.n);
        return emo_error_set(err, EMO_ERR_NOMEM, "%s: out of memory", base_url);
    }
    *links = l.v;
    *n = l.n;
    return EMO_OK;
}

void ingest_links_free(IngestLink *links, int n)
{
    if (!links) return;
    for (int i = 0; i < n; i++) free(links[i].url);
    free(links);
}

int ingest_html_is_html(const uint8_t *data, size_t size, const char *content_type)
{
    if (content_type && (strncasecmp(content_type, "text/html", 9) == 0 ||
                         strncasecmp(content_type, "application/xhtml", 17) == 0))
        return 1;
    size_t i = 0;
    if (size >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) i = 3;
    while (i < size && i < 512 && isspace(data[i])) i++;
    if (i >= size || data[i] != '<') return 0;
    static const char *const starts[] = {"<!doctype html", "<html", "<head", "<body", "<!--", NULL};
    for (int k = 0; starts[k]; k++) {
        size_t m = strlen(starts[k]);
        if (size - i >= m && strncasecmp((const char *)data + i, starts[k], m) == 0) return 1;
    }
    return 0;
}
