# pipelines/fer2013.mk: FER2013 to a trained model and a report.
#
#   make -f pipelines/fer2013.mk DATA=path/to/fer2013 [OUT=out/fer2013] [EPOCHS=30]
#        [THREADS=2] [SEED=1] [AUG='emoaugment flags' | AUG=off] [TRAIN='emotrain flags']
#
# DATA is the image release unpacked (train/<class>/*.jpg, val/ or test/
# beside it; e.g. tar --zstd -xf ../shared/data/fer2013-trainval.tar.zst -C
# /tmp/fer) or the Kaggle CSV (emotion,pixels,Usage). The faces are already
# 48x48 crops, so ingest passes them through without detection; Usage or the
# folder names keep FER2013's own split. Stages and variables: common.mk.

OUT    ?= out/fer2013
EPOCHS ?= 30
TITLE  ?= emo: FER2013

ifeq ($(strip $(DATA)),)
  ifeq ($(filter clean help,$(MAKECMDGOALS)),)
    $(error set DATA to the FER2013 folder tree or the Kaggle CSV: make -f pipelines/fer2013.mk DATA=path)
  endif
endif

INGEST_SRC = $(DATA)
DATA_FILES = $(DATA)

include $(dir $(lastword $(MAKEFILE_LIST)))common.mk
