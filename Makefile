# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# scopelock build. `make` builds bin/scopelockd and bin/scopelock; `make V=1`
# shows every command. BPF: clang -target bpf per file, `bpftool gen object`
# links them (maps shared through __weak definitions), `bpftool gen skeleton`.

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR ?=
OUTPUT := .output
BIN := bin
ARCH := x86

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

LIBS_PC := libbpf jansson yaml-0.1 zlib libcrypto libseccomp libnghttp2 libbrotlidec libzstd \
	capstone libpcre2-8 libsystemd libcurl
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
CFLAGS ?= -O2 -g
override CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -Iinclude -Iuser/lib -Iuser/daemon \
	-I$(OUTPUT) $(PC_CFLAGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -MMD -MP \
	-DSL_DEFAULT_POLICY='"$(PREFIX)/share/scopelock/policies/default.yaml"' \
	-DSL_PROXY_PATH='"$(PREFIX)/libexec/scopelock/scopelock-proxy"'
# libhttp-parser-dev ships no pkg-config file
LDLIBS += $(PC_LIBS) -lhttp_parser -lelf -lpthread -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Wno-unused-function -Iinclude -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.bpf.h) $(wildcard include/*.h)
SKEL := $(OUTPUT)/scopelock.skel.h

LIB_SRCS := $(sort $(wildcard user/lib/*.c))
LIB_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
LIB := $(OUTPUT)/libscopelock.a
DAEMON_SRCS := $(sort $(wildcard user/daemon/*.c))
DAEMON_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(DAEMON_SRCS))
# the daemon's rooms (docs/architecture.md) as a library: main.o links it, and
# so may unit tests
DAEMON_MAIN := $(OUTPUT)/user/daemon/main.o
DLIB_OBJS := $(filter-out $(DAEMON_MAIN),$(DAEMON_OBJS))
DLIB := $(OUTPUT)/libscopelockd.a
CLI_SRCS := $(sort $(wildcard user/cli/*.c))
CLI_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(CLI_SRCS))

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
UNIT_HELPER_SRCS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
# tests compress what the request decoder decodes
TEST_LDLIBS := $(shell $(PKG_CONFIG) --libs libbrotlienc 2>/dev/null)
# small executables test_tls_locate analyses (stripped, non-PIE and PIE)
FIXTURE_DIR := $(OUTPUT)/tests/fixtures
FIXTURE_CFLAGS := -O2 -fno-reorder-blocks-and-partition -fcf-protection=none -Wno-unused-result
FIXTURES := $(addprefix $(FIXTURE_DIR)/,fake_bssl-nopie fake_bssl-nopie.stripped \
	fake_bssl-pie fake_bssl-pie.stripped fake_bssl-decoy fake_bssl-decoy.stripped \
	fake_bssl-twin fake_bssl-twin.stripped fake_rustls.stripped plain.stripped \
	fake_awslc-pie fake_awslc-pie.stripped fake_awslc-decoy fake_awslc-decoy.stripped \
	fake_ring-pie fake_ring-pie.stripped)

# kernel tests: test BPF programs run with BPF_PROG_TEST_RUN (root)
KTEST_DIR := $(OUTPUT)/tests/kernel
KTEST_BINS := $(OUTPUT)/tests/test_decide_kernel

.DELETE_ON_ERROR:
.SECONDARY: $(FIXTURES)
.PHONY: all clean install uninstall test unit ktest e2e vmlinux format format-check depgraph fuzz \
	demo bench reqdec-bench man deb

all: $(BIN)/scopelockd $(BIN)/scopelock $(BIN)/scopelock-proxy $(BIN)/tls-locate ktest

$(OUTPUT) $(OUTPUT)/bpf $(OUTPUT)/tests $(BIN):
	$(Q)mkdir -p $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/scopelock.bpf.o: $(BPF_OBJS)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(OUTPUT)/scopelock.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name scopelock_bpf > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# the daemon includes the skeleton
$(DAEMON_OBJS): $(SKEL)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(DLIB): $(DLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BIN)/scopelockd: $(DAEMON_MAIN) $(DLIB) $(LIB) | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/scopelock: $(CLI_OBJS) $(LIB) | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# the inspecting TLS proxy of blind_tls: proxy: the system's libssl (the uprobes capture its
# upstream writes), nothing else
$(OUTPUT)/user/proxy/scopelock-proxy.o: user/proxy/scopelock-proxy.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/scopelock-proxy: $(OUTPUT)/user/proxy/scopelock-proxy.o | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -lssl -lcrypto -o $@

# tools/tls-offsets builds the TLS offset table with it
$(OUTPUT)/tools/%.o: tools/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BIN)/tls-locate: $(OUTPUT)/tools/tls-locate.o $(LIB) | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(UNIT_HELPER_SRCS) $(DLIB) $(LIB) | $(OUTPUT)/tests $(FIXTURES)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -DSL_TEST_FIXTURES='"$(abspath $(FIXTURE_DIR))"' $< \
		$(UNIT_HELPER_SRCS) $(DLIB) $(LIB) $(LDLIBS) $(TEST_LDLIBS) -lcmocka -o $@

$(FIXTURE_DIR)/fake_bssl-%: tests/unit/fixtures/fake_bssl.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIXTURE_CFLAGS) $(if $(filter pie%,$*),-fpie -pie,-fno-pie -no-pie) \
		$(if $(filter decoy%,$*),-DDECOY) $(if $(filter twin%,$*),-DTWIN) \
		$(if $(filter %.stripped,$*),-s) $< -o $@

$(FIXTURE_DIR)/fake_awslc-%: tests/unit/fixtures/fake_awslc.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -fpie -pie $(if $(filter decoy%,$*),-DDECOY) \
		$(if $(filter %.stripped,$*),-s) $< -o $@

$(FIXTURE_DIR)/fake_ring-%: tests/unit/fixtures/fake_ring.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -fpie -pie $(if $(filter %.stripped,$*),-s) $< -o $@

$(FIXTURE_DIR)/%.stripped: tests/unit/fixtures/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIXTURE_CFLAGS) -s $< -o $@

$(KTEST_DIR)/%.bpf.o: tests/kernel/%.bpf.c $(BPF_HDRS) $(wildcard tests/kernel/*.h)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/kernel -c $< -o $(@:.o=.unlinked.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.unlinked.o)

$(KTEST_DIR)/%.skel.h: $(KTEST_DIR)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/tests/test_decide_kernel: tests/kernel/test_decide_kernel.c $(KTEST_DIR)/decide.skel.h \
		$(LIB) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/kernel -I$(KTEST_DIR) $< $(LIB) $(LDLIBS) -o $@

# built with `make`, run by the e2e suite (tests/e2e/test_decide_model.py)
ktest: $(KTEST_BINS)

unit: $(FIXTURES) $(UNIT_BINS)
	$(Q)fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

e2e: all
	$(Q)tests/e2e/run.sh

# every test: unit, then e2e (root, real kernel), then fuzz smoke
test: all unit e2e

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

# replays the April 2026 incident end to end (root)
demo: all
	$(Q)tools/demo.sh

# overhead against an unmonitored baseline and peer tools (root; not a test)
bench: all
	$(Q)bench/run.sh $(BENCH_ARGS)

# the request decoder's throughput (not a test): MB/s and us per request
reqdec-bench: $(OUTPUT)/bench/reqdec_bench
	$(Q)$(OUTPUT)/bench/reqdec_bench

$(OUTPUT)/bench/reqdec_bench: bench/reqdec_bench.c $(LIB)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux/')
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

# the daemon's rooms: no include cycle, no private header of another room,
# and docs/architecture.md shows the current graph (--update-doc rewrites it)
depgraph:
	$(Q)tools/depgraph.py --check-doc docs/architecture.md

# man pages: help2man on the programs' --help, lowdown on docs/policy.md (tools/mkman.sh)
MAN_DIR := $(OUTPUT)/man
man: $(BIN)/scopelockd $(BIN)/scopelock docs/policy.md tools/mkman.sh
	$(call msg,MAN,$(MAN_DIR))
	$(Q)tools/mkman.sh $(MAN_DIR)

# the Debian package (debian/, tools/mkdeb.sh): built in a copy of the tree,
# checked with lintian; .output/deb/scopelock_VERSION_amd64.deb
deb:
	$(Q)tools/mkdeb.sh $(OUTPUT)/deb

install: all man
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/scopelock/policies $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BIN)/scopelockd $(DESTDIR)$(PREFIX)/sbin/scopelockd
	install -m 0755 $(BIN)/scopelock $(DESTDIR)$(PREFIX)/bin/scopelock
	install -d $(DESTDIR)$(PREFIX)/libexec/scopelock
	install -m 0755 $(BIN)/scopelock-proxy $(DESTDIR)$(PREFIX)/libexec/scopelock/scopelock-proxy
	install -d $(DESTDIR)$(PREFIX)/share/scopelock/policies/examples
	install -m 0644 policies/*.yaml $(DESTDIR)$(PREFIX)/share/scopelock/policies/
	install -m 0644 policies/examples/*.yaml $(DESTDIR)$(PREFIX)/share/scopelock/policies/examples/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/scopelockd.service.in > \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/scopelockd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/scopelockd.service
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions
	install -m 0644 $(MAN_DIR)/scopelock.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(MAN_DIR)/scopelock-policy.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 $(MAN_DIR)/scopelockd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 dist/completion/scopelock.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/scopelock
	install -m 0644 dist/completion/_scopelock $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/
	install -d $(DESTDIR)$(SYSCONFDIR)/scopelock/policy.d
	# the site's policy: created once, never overwritten
	[ -e $(DESTDIR)$(SYSCONFDIR)/scopelock/policy.yaml ] || \
		install -m 0644 dist/policy.yaml $(DESTDIR)$(SYSCONFDIR)/scopelock/policy.yaml

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/scopelockd $(DESTDIR)$(PREFIX)/bin/scopelock \
		$(DESTDIR)$(PREFIX)/libexec/scopelock/scopelock-proxy \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/scopelockd.service \
		$(DESTDIR)$(PREFIX)/share/man/man1/scopelock.1 \
		$(DESTDIR)$(PREFIX)/share/man/man5/scopelock-policy.5 \
		$(DESTDIR)$(PREFIX)/share/man/man8/scopelockd.8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/scopelock \
		$(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_scopelock
	rm -rf $(DESTDIR)$(PREFIX)/share/scopelock

clean:
	rm -rf $(OUTPUT) $(BIN)

-include $(shell find $(OUTPUT) -name '*.d' 2>/dev/null)
