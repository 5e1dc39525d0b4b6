# pipelines/demo.mk: the whole job on the sample that ships in the repo.
#
#   make demo          (the top-level Makefile runs: make -f pipelines/demo.mk)
#
# 700 FER2013 faces (pipelines/sample/fer2013-mini: 560 train, 140 val)
# through ingest, augment, a few epochs of training, evaluation, emopredict on
# a few sample faces and the report, in a few minutes on 2 cores. Far too
# little data for a useful model: it shows the machinery; fer2013.mk on the
# full set trains the real one. Any variable of common.mk may be set, e.g.
# make demo EPOCHS=10.

EMO_PIPE := $(dir $(lastword $(MAKEFILE_LIST)))
SAMPLE   := $(patsubst $(CURDIR)/%,%,$(abspath $(EMO_PIPE)sample/fer2013-mini))

OUT    ?= demo-out
EPOCHS ?= 5
AUG    ?= --copies 1 --keep-original --flip 0.5 --rotate 10 --brightness 0.2
TITLE  ?= emo demo: the shipped FER2013 sample
DATA   := $(SAMPLE)
PREDICT_IMAGES ?= $(firstword $(sort $(wildcard $(SAMPLE)/val/happy/*.jpg))) \
                  $(firstword $(sort $(wildcard $(SAMPLE)/val/surprise/*.jpg))) \
                  $(firstword $(sort $(wildcard $(SAMPLE)/val/sad/*.jpg)))

INGEST_SRC = $(DATA)
DATA_FILES = $(DATA)

.DEFAULT_GOAL := demo
include $(EMO_PIPE)common.mk

.PHONY: demo
demo: $(REPORT)
	@echo
	@echo "Predictions on a few sample faces (emopredict):"
	@awk '{ f = l = c = ""; \
	  if (match($$0, /"file": *"[^"]*"/)) { f = substr($$0, RSTART, RLENGTH); sub(/^"file": *"/, "", f); sub(/"$$/, "", f) } \
	  if (match($$0, /"label": *"[^"]*"/)) { l = substr($$0, RSTART, RLENGTH); sub(/^"label": *"/, "", l); sub(/"$$/, "", l) } \
	  if (match($$0, /"confidence": *[0-9.eE+-]+/)) { c = substr($$0, RSTART, RLENGTH); sub(/^"confidence": */, "", c) } \
	  if (f != "" && l != "") printf "  %s: %s (%.0f%%)\n", f, l, 100 * c; else print "  " $$0 }' $(PRED) 2>/dev/null || true
	@echo
	@echo "Report: $(abspath $(REPORT))"
	@echo "Open it in a browser, e.g.: xdg-open $(abspath $(REPORT))"
