/* ingest_labels.h: from a folder name, URL-list label or CSV emotion string
 * to a class, through an optional user map (--labels FILE) and then the
 * built-in class names and aliases (emo_class_from_name).
 *
 * Map file: one `NAME CLASS` per line; NAME and CLASS separated by a tab,
 * '=', ':', ',' or spaces (NAME is everything before the last separator run,
 * so it may contain spaces). CLASS is a class name or alias, "unlabeled"
 * (keep the images without a label) or "skip" (reject them as "excluded
 * label"). '#' starts a comment. Names match case-insensitively; the map is
 * consulted before the built-in aliases, so it can also override them.
 * "unlabeled" and "skip" are directives only inside a map file. */
#ifndef INGEST_LABELS_H
#define INGEST_LABELS_H

#include "emo_error.h"

#define INGEST_LABEL_UNLABELED (-1) /* == EMO_LABEL_NONE: explicitly no label */
#define INGEST_LABEL_SKIP (-2)      /* mapped to "skip" */
#define INGEST_LABEL_UNKNOWN (-3)   /* not a class and not in the map */

typedef struct IngestLabelMap IngestLabelMap;

/* Loads a map file. Errors name the file and the line. */
EmoStatus ingest_labels_load(const char *path, IngestLabelMap **map, EmoError *err);

/* Parses map text held in memory (`name` is for messages). */
EmoStatus ingest_labels_parse(const char *text, const char *name, IngestLabelMap **map, EmoError *err);

void ingest_labels_free(IngestLabelMap *map);

/* Number of entries (for the report). */
int ingest_labels_count(const IngestLabelMap *map);

/* Class 0..6, INGEST_LABEL_UNLABELED, INGEST_LABEL_SKIP or
 * INGEST_LABEL_UNKNOWN. map may be NULL (built-in names only). */
int ingest_labels_resolve(const IngestLabelMap *map, const char *name);

#endif /* INGEST_LABELS_H */
