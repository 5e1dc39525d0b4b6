/* fuzz_html.c: the crawler's HTML link extractor (ingest/ingest_html.h:
 * libxml2's HTML parser plus libcurl's URL resolution), on pages a crawl
 * fetches from anywhere.
 *
 * Every link it returns must be an absolute http(s) URL without a fragment,
 * as the header promises; ingest_html_is_html must not read past the data. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_html.h"

static void fuzz_check(int cond)
{
    if (!cond) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)ingest_html_is_html(data, size, NULL);
    (void)ingest_html_is_html(data, size, "text/html; charset=utf-8");
    IngestLink *links = NULL;
    int n = -1;
    EmoError err;
    EmoStatus s = ingest_html_links(data, size, "http://fuzz.example/dir/page.html?q=1", &links, &n, &err);
    if (s != EMO_OK) {
        fuzz_check(s == EMO_ERR_NOMEM && links == NULL && n == 0);
        return 0;
    }
    fuzz_check(n >= 0 && (n == 0 || links != NULL));
    for (int i = 0; i < n; i++) {
        const char *u = links[i].url;
        fuzz_check(u != NULL);
        fuzz_check(strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0);
        fuzz_check(strchr(u, '#') == NULL);
        fuzz_check(links[i].is_image == 0 || links[i].is_image == 1);
    }
    ingest_links_free(links, n);
    return 0;
}
