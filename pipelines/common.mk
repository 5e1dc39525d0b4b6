# pipelines/common.mk: the stages every pipeline shares, as make rules.
#
#   ingest -> augment -> train -> eval -> [predict] -> report
#
# Each stage's target is the file its program writes last (a manifest, the
# model, a JSON), so make reruns exactly the stages whose inputs changed. The
# options of each stage are kept in $(OUT)/.opts/STAGE, rewritten only when
# they change: changing AUG reruns augment, train, eval and report, but not
# ingest; changing EPOCHS reruns train onwards; THREADS changes nothing. The
# data itself is fingerprinted too (names, sizes, times), so adding a photo
# reruns ingest.
#
# A pipeline (fer2013.mk, folder.mk, crawl.mk, demo.mk) sets INGEST_SRC, the
# sources given to emoingest, and its defaults, then includes this file.
#
# Variables (command line or environment):
#   OUT       output folder                     EPOCHS   training epochs
#   THREADS   threads for every stage           SEED     seed for augment and train
#   AUG       emoaugment flags (AUG=off: train on the ingested faces as they are)
#   TRAIN     extra emotrain flags              INGEST   extra emoingest flags
#   EVAL_SPLIT  test|val|auto (auto: test when ingest made one, else val)
#   PREDICT_IMAGES  photos for emopredict after training (shown in the report)
#   BIN       where the programs are (default: build them into $(BUILD)/bin)
#
# Every program writes its outputs atomically; files this makefile writes
# itself go through a temp name, and .DELETE_ON_ERROR removes half-made ones.

EMO_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)

.DELETE_ON_ERROR:
.SUFFIXES:
ifeq ($(.DEFAULT_GOAL),)
  .DEFAULT_GOAL := all
endif
SHELL := /bin/sh

# Programs: built on demand into the repo's $(BUILD)/bin, unless BIN is given.
BUILD ?= build
ifeq ($(origin BIN),undefined)
  BIN := $(EMO_ROOT)/$(BUILD)/bin
  EMO_BUILD_PROGS := 1
endif
EMOINGEST  := $(BIN)/emoingest
EMOAUGMENT := $(BIN)/emoaugment
EMOTRAIN   := $(BIN)/emotrain
EMOPREDICT := $(BIN)/emopredict
EMOREPORT  := $(BIN)/emoreport
EMOSHARD   := $(BIN)/emoshard

OUT        ?= out
EPOCHS     ?= 30
ifndef THREADS
  THREADS := $(shell nproc 2>/dev/null || echo 2)
endif
SEED       ?= 1
AUG        ?= --copies 1 --keep-original --flip 0.5 --rotate 10 --brightness 0.2
TRAIN      ?=
INGEST     ?=
EVAL_SPLIT ?= auto
PREDICT_IMAGES ?=
TITLE      ?= emo: training report

# Where each stage writes.
OPTS     := $(OUT)/.opts
ING      := $(OUT)/ingest
AUGD     := $(OUT)/aug
RUN      := $(OUT)/train
ING_MANIFEST := $(ING)/train/manifest.json
AUG_MANIFEST := $(AUGD)/train/manifest.json
MODEL    := $(RUN)/best.emomodel
EVAL     := $(OUT)/eval.json
PRED     := $(OUT)/predictions.jsonl
SAMPLES  := $(ING)/samples.png
REPORT   := $(OUT)/report/index.html

ifeq ($(strip $(AUG)),off)
  TRAIN_SET := $(ING)/train
  TRAIN_DEP := $(ING_MANIFEST)
else
  TRAIN_SET := $(AUGD)/train
  TRAIN_DEP := $(AUG_MANIFEST)
endif

# The commands: the one place where the programs' flags are spelled.
# (--threads is added when they run; it does not change results, so it is
# not part of the options that decide what reruns.)
THREADS_FLAG = --threads $(THREADS)
INGEST_CMD  = $(EMOINGEST) $(INGEST_SRC) -o $(ING) $(INGEST)
AUG_CMD     = $(EMOAUGMENT) --shards $(ING)/train -o $(AUGD)/train --seed $(SEED) --preview $(AUGD)/preview.png $(AUG)
TRAIN_CMD   = $(EMOTRAIN) --shards $(TRAIN_SET) --val $(ING)/val -o $(RUN).tmp --epochs $(EPOCHS) --seed $(SEED) $(TRAIN)
EVAL_CMD    = $(EMOTRAIN) --eval --model $(MODEL) --shards
EVAL_JSON   = --json
PREDICT_CMD = $(EMOPREDICT) --model $(MODEL) $(PREDICT_IMAGES)
SAMPLES_CMD = $(EMOSHARD) grid $(ING)/train -o $(SAMPLES) --n 48 --cols 12 --seed 1
REPORT_CMD  = $(EMOREPORT) -o $(OUT)/report --title '$(TITLE)' --opts $(OPTS) \
              --metrics $(RUN)/metrics.csv --eval $(EVAL) --ingest-report $(ING)/ingest-report.json \
              --preview $(AUGD)/preview.png --samples $(SAMPLES)

# The options as recorded: the command without the programs' folder.
emo_show = $(strip $(subst $(EMOSHARD),emoshard,$(subst $(EMOINGEST),emoingest,$(subst $(EMOAUGMENT),emoaugment,$(subst $(EMOTRAIN),emotrain,\
             $(subst $(EMOPREDICT),emopredict,$(subst $(EMOREPORT),emoreport,$(1))))))))

# $(call emo_stamp,NAME,TEXT): $(OPTS)/NAME holds TEXT, rewritten only when
# TEXT changed (at parse time, so make sees the new date in the same run).
# (Both sides are stripped: make 4.3's $(file <) keeps the final newline of
# files over 200 bytes.) Under make -n or -q nothing is written: a changed stamp is forced instead,
# so the dry run shows (or -q reports) what a real run would redo.
EMO_DRY   := $(findstring n,$(firstword -$(MAKEFLAGS)))$(findstring q,$(firstword -$(MAKEFLAGS)))
emo_same  = $(and $(findstring x$(1)x,x$(2)x),$(findstring x$(2)x,x$(1)x))
emo_stamp = $(if $(call emo_same,$(strip $(file <$(OPTS)/$(1))),$(strip $(2))),,$(if $(EMO_DRY),$(eval $(OPTS)/$(1): emo-force ; @echo 'options changed: $(1)'),\
              $(shell mkdir -p $(OPTS))$(file >$(OPTS)/$(1),$(2))))
.PHONY: emo-force
emo-force: ;

# Fingerprint of the input data: a folder's file names, sizes and times, or a
# file's size and time (DATA_FILES: the paths to fingerprint).
emo_fingerprint = $(foreach f,$(1),$(shell if [ -d '$(f)' ]; then find -L '$(f)' -type f -printf '%P %s %T@\n' 2>/dev/null | LC_ALL=C sort | cksum; \
                    elif [ -e '$(f)' ]; then stat -L -c '%s %Y' '$(f)'; else echo missing; fi))

# Goals that only look, clean or explain write no stamps.
EMO_QUIET_GOALS := clean help clean-train clean-aug
ifneq ($(filter-out $(EMO_QUIET_GOALS),$(or $(MAKECMDGOALS),all)),)
  $(call emo_stamp,ingest,$(call emo_show,$(INGEST_CMD)))
  $(call emo_stamp,.data,$(call emo_fingerprint,$(DATA_FILES)))
  $(call emo_stamp,augment,$(if $(filter off,$(strip $(AUG))),off,$(call emo_show,$(AUG_CMD))))
  $(call emo_stamp,train,$(call emo_show,$(TRAIN_CMD)))
  $(call emo_stamp,eval,$(call emo_show,$(EVAL_CMD)) $(if $(filter auto,$(EVAL_SPLIT)),$(ING)/test (or $(ING)/val when ingest made no test split),$(ING)/$(EVAL_SPLIT)))
  $(call emo_stamp,predict,$(if $(strip $(PREDICT_IMAGES)),$(call emo_show,$(PREDICT_CMD)),none))
endif

# Programs, built by the top-level Makefile when BIN was not given.
EMO_PROGS := emoingest emoaugment emotrain emoreport emoshard $(if $(strip $(PREDICT_IMAGES)),emopredict)
ifdef EMO_BUILD_PROGS
PROGS_DEP := | emo-programs
.PHONY: emo-programs
emo-programs:
	@$(MAKE) --no-print-directory -C $(EMO_ROOT) $(if $(filter -j%,$(MAKEFLAGS)),,-j$(THREADS)) BUILD=$(BUILD) \
	  $(addprefix $(BUILD)/bin/,$(EMO_PROGS))
endif

.PHONY: all ingest augment train eval predict report clean clean-train clean-aug help
all: $(REPORT)
	@echo "Report: $(abspath $(REPORT))"
ingest: $(ING_MANIFEST)
augment: $(TRAIN_DEP)
train: $(MODEL)
eval: $(EVAL)
predict: $(if $(strip $(PREDICT_IMAGES)),$(PRED))
report: $(REPORT)

# Ingest: every split in one run (train, val, test datasets, ingest-report.json).
$(ING_MANIFEST): $(OPTS)/ingest $(OPTS)/.data $(PROGS_DEP)
	@echo "== ingest: $(call emo_show,$(INGEST_CMD))"
	$(INGEST_CMD) $(THREADS_FLAG)

# Augment (with its preview sheet).
$(AUG_MANIFEST): $(ING_MANIFEST) $(OPTS)/augment $(PROGS_DEP)
	@echo "== augment: $(call emo_show,$(AUG_CMD))"
	$(AUG_CMD) $(THREADS_FLAG)

# Train into $(RUN).tmp, swapped in whole when the run completes, so the
# report never mixes an old run's metrics with a new model. An interrupted
# run resumes from its checkpoint when neither the options nor the training
# set changed since it started (emotrain --resume gives the same result as
# an uninterrupted run); otherwise it starts afresh.
$(MODEL): $(TRAIN_DEP) $(OPTS)/train $(PROGS_DEP)
	@echo "== train: $(call emo_show,$(TRAIN_CMD))"
	@if [ -f $(RUN).tmp/checkpoint.emomodel ] && cmp -s $(OPTS)/train $(RUN).tmp/pipeline-opts \
	    && [ $(RUN).tmp/pipeline-opts -nt $(TRAIN_DEP) ]; then \
	  echo "resuming the interrupted run in $(RUN).tmp"; echo "$(TRAIN_CMD) $(THREADS_FLAG) --resume"; \
	  $(TRAIN_CMD) $(THREADS_FLAG) --resume; \
	else \
	  rm -rf $(RUN).tmp && mkdir -p $(RUN).tmp && cp $(OPTS)/train $(RUN).tmp/pipeline-opts && \
	  echo "$(TRAIN_CMD) $(THREADS_FLAG)" && $(TRAIN_CMD) $(THREADS_FLAG); \
	fi
	@test -f $(RUN).tmp/best.emomodel || { echo "emotrain wrote no $(RUN).tmp/best.emomodel" >&2; exit 1; }
	rm -rf $(RUN).old; if [ -d $(RUN) ]; then mv $(RUN) $(RUN).old; fi
	mv $(RUN).tmp $(RUN) && rm -rf $(RUN).old
	@touch $@

# Evaluate on the test split when ingest made a non-empty one, else on val.
emo_records = $$(sed -n 's/.*"num_records": *\([0-9][0-9]*\).*/\1/p' $(1)/manifest.json 2>/dev/null | head -n 1)
$(EVAL): $(MODEL) $(OPTS)/eval $(PROGS_DEP)
	@set=$(ING)/$(EVAL_SPLIT); \
	if [ "$(EVAL_SPLIT)" = auto ]; then \
	  set=$(ING)/test; [ "$(call emo_records,$(ING)/test)" -gt 0 ] 2>/dev/null || set=$(ING)/val; \
	fi; \
	echo "== eval on $$set"; \
	echo "$(EVAL_CMD) $$set $(THREADS_FLAG) $(EVAL_JSON) $@.tmp"; \
	$(EVAL_CMD) $$set $(THREADS_FLAG) $(EVAL_JSON) $@.tmp && mv -f $@.tmp $@

# A contact sheet of ingested faces (aligned ones, for photos), for the report.
$(SAMPLES): $(ING_MANIFEST) $(PROGS_DEP)
	$(SAMPLES_CMD) --quiet

# Predict: one JSON line per face; a photo without a face is not an error here.
$(PRED): $(MODEL) $(OPTS)/predict $(PREDICT_IMAGES) $(PROGS_DEP)
	@echo "== predict: $(call emo_show,$(PREDICT_CMD))"
	$(PREDICT_CMD) $(THREADS_FLAG) --quiet > $@.tmp || [ -s $@.tmp ]
	@mv -f $@.tmp $@

# The report: every picture on one page.
$(REPORT): $(EVAL) $(MODEL) $(TRAIN_DEP) $(ING_MANIFEST) $(SAMPLES) $(if $(strip $(PREDICT_IMAGES)),$(PRED)) $(PROGS_DEP)
	@echo "== report"
	$(REPORT_CMD) $(if $(strip $(PREDICT_IMAGES)),--predictions $(PRED)) \
	  $$(for s in train val test; do [ -f $(ING)/$$s/manifest.json ] && printf ' --dataset %s=%s' $$s $(ING)/$$s; done) \
	  $(if $(filter off,$(strip $(AUG))),,--dataset 'train after augmentation=$(AUGD)/train') >/dev/null

clean:
	rm -rf $(OUT)
clean-train:
	rm -rf $(RUN) $(RUN).tmp $(EVAL) $(PRED) $(OUT)/report
clean-aug:
	rm -rf $(AUGD)

help:
	@echo "targets: all (default: the report), ingest, augment, train, eval, predict, report, clean"
	@echo "OUT=$(OUT) EPOCHS=$(EPOCHS) THREADS=$(THREADS) SEED=$(SEED)"
	@echo "AUG=$(AUG)"
	@echo "TRAIN=$(TRAIN)"
	@echo "INGEST=$(INGEST)"
	@echo "ingest:  $(call emo_show,$(INGEST_CMD))"
	@echo "augment: $(call emo_show,$(AUG_CMD))"
	@echo "train:   $(call emo_show,$(TRAIN_CMD))"
