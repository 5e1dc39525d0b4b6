# pipelines/folder.mk: any folder of labelled photos to a trained model.
#
#   make -f pipelines/folder.mk DATA=../shared/data/jaffe-dev [OUT=out/folder] [EPOCHS=40] ...
#
# DATA holds one subfolder per emotion (angry/, happy/, ... with the aliases
# emoingest knows: anger, happiness, surprised, ...), photos of any size.
# Ingest finds and aligns the face in each photo (--detect auto: detection on
# anything larger than a face crop), crops it to 48x48 gray, de-duplicates,
# and splits by a stable hash (80/10/10) unless train/ val/ test/ folders
# already say. Stages and variables: common.mk.

OUT    ?= out/folder
EPOCHS ?= 40
INGEST ?= --detect auto
TITLE  ?= emo: $(notdir $(abspath $(DATA)))

ifeq ($(strip $(DATA)),)
  ifeq ($(filter clean help,$(MAKECMDGOALS)),)
    $(error set DATA to a folder of class folders of photos: make -f pipelines/folder.mk DATA=path)
  endif
endif

INGEST_SRC = $(DATA)
DATA_FILES = $(DATA)

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
