# pipelines/crawl.mk: images from the web to a trained model.
#
#   make -f pipelines/crawl.mk URLS=list.txt            one "URL<TAB>label" a line
#   make -f pipelines/crawl.mk START=https://host/page DEPTH=2 LABEL=happy
#
# Both may be given in one run. emoingest fetches the images (same host for a
# crawl, robots.txt honoured, rate, size and time limited, cached so a re-run
# does not fetch again), detects and aligns faces, de-duplicates and splits
# by hash. The URL list is fingerprinted: editing it reruns ingest; a crawl
# reruns when START, DEPTH or LABEL change (make clean to fetch anew).
# Stages and variables: common.mk.

OUT    ?= out/crawl
EPOCHS ?= 30
DEPTH  ?= 1
TITLE  ?= emo: images from the web

ifeq ($(strip $(URLS)$(START)),)
  ifeq ($(filter clean help,$(MAKECMDGOALS)),)
    $(error set URLS=file (URL<TAB>label lines) and/or START=url DEPTH=n LABEL=label)
  endif
endif
ifneq ($(strip $(START)),)
  ifeq ($(strip $(LABEL)),)
    $(error a crawl needs LABEL=emotion for the images it finds)
  endif
endif

INGEST_SRC = $(if $(strip $(URLS)),--urls $(URLS)) $(if $(strip $(START)),--crawl $(START) --depth $(DEPTH) --label $(LABEL))
DATA_FILES = $(URLS)

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
