# hvbastion - a hardened privileged-access bastion for hypervisor
# administration.  Plain make; every library through pkg-config.
#
#   make            build build/hvbastiond and build/hvbastion
#   make SAN=1      the same with ASan + UBSan, in build/san/
#   make deps       install the Debian packages needed to build and test
#   make check      deps + build + unit and end-to-end tests
#   make demo       deps + build + start the demo (make demo-stop stops it)
#   make bench      throughput, set-up time and memory against OpenSSH
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# Where libpam finds modules named without a path.
PAMDIR	?= /lib/$(shell $(CC) -print-multiarch 2>/dev/null)/security
DESTDIR	?=
PYTHON	?= /usr/bin/python3

CC	?= cc
PKGS	 = libssh jansson libcrypto
PKGS	+= libssl
PAM_LIBS = -lpam $(shell pkg-config --libs liboath 2>/dev/null)
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	   -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
	   -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Debian's http-parser has no .pc file.
LDLIBS	+= -lhttp_parser

ifeq ($(SAN),1)
BUILD	?= build/san
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined -U_FORTIFY_SOURCE
LDFLAGS	+= -fsanitize=address,undefined
# ASan intercepts crypt(3) and resolves it at start: a PAM module that
# brings libcrypt in later (pam_pwdfile, pam_unix) would call NULL.
SAN_LIBS = -Wl,--push-state,--no-as-needed -lcrypt -Wl,--pop-state
else
BUILD	?= build
endif

# Debian 12 packages: to build, and to run the tests and the demo.
DEB_BUILD = gcc make pkg-config libc6-dev libssh-dev libjansson-dev \
	    libcmocka-dev libpam0g-dev liboath-dev libqrencode-dev libssl-dev
DEB_TEST  = openssh-server openssh-client python3 python3-pytest \
	    python3-paramiko python3-pexpect asciinema socat procps \
	    passwd oathtool libpam-modules libnss-wrapper rsync
DEB_BUILD += libhttp-parser-dev
DEB_TEST  += libpam-pwdfile curl
# Proxmox API simulator tests and API benchmark (issue 7, pve-sim): curl and
# openssl for the simulator's tests, nginx (anchor) and wrk (load) for the
# API bench, node and npm for the proxmox-api test client: Debian's nodejs
# and npm only when no npm is on PATH (a nodesource nodejs carries its own
# npm and conflicts with Debian's npm package).
DEB_TEST += curl openssl nginx wrk
DEB_TEST += $(if $(shell command -v npm 2>/dev/null),,nodejs npm)
# tests/e2e/test_install.py: the unit's rating, man pages, the .deb
DEB_TEST += systemd man-db dpkg-dev debhelper lintian
# tests/e2e/test_install.py boots systemd in a container (systemd-nspawn)
# where systemd is not PID 1
DEB_TEST += systemd-container

# Two pytest workers (one test module each at a time): the e2e suite
# waits on daemons more than it computes.
DEB_TEST += python3-pytest-xdist

CORE_SRCS = bastion/log.c bastion/conf_lex.c bastion/config.c bastion/keys.c \
	    bastion/names.c bastion/target_choice.c policy/policy.c \
	    recorder/json_text.c recorder/asciicast.c \
	    recorder/session_log.c recorder/session_id.c bastion/pump.c \
	    bastion/menu.c
CORE_SRCS += bastion/config_policy.c recorder/chain.c recorder/seal.c
CORE_SRCS += recorder/sftp_parse.c
CORE_SRCS += bastion/audit.c bastion/state_owner.c
# Privilege separation (issue 8): key holder messages and keys.
CORE_SRCS += bastion/kh_proto.c bastion/kh_keys.c
CORE_SRCS += recorder/cast_read.c
CORE_SRCS += bastion/config_recording.c
CORE_SRCS += recorder/rec_file.c
CORE_SRCS += recorder/rec_zstd.c
PKGS += libzstd
DEB_BUILD += libzstd-dev
CORE_SRCS += bastion/config_api.c
# The Proxmox API front (issue 7): parsers and tickets, unit-tested.
CORE_SRCS += bastion/api_http.c bastion/api_path.c bastion/api_ticket.c
CORE_SRCS += bastion/api_form.c bastion/api_token.c bastion/api_ws.c
CORE_SRCS += bastion/api_vncbind.c
# The Proxmox API policy (issue 7): ACL map, privileges, grammar, lists.
CORE_SRCS += policy/api_acl.c policy/api_privs.c policy/api_filter.c
CORE_SRCS += bastion/config_api_policy.c
# List answers filtered over the node's bytes (issue 7, streamfilter).
CORE_SRCS += policy/json_scan.c policy/api_filter_stream.c
# The audit trail (issue 6): formatter, spool and journal, libaudit, config.
CORE_SRCS += bastion/audit_fmt.c bastion/audit_spool.c \
	     bastion/audit_libaudit.c bastion/config_audit.c
PKGS += audit libssl
DEB_BUILD += libaudit-dev
DEB_TEST += rsyslog rsyslog-openssl openssl auditd
# Group commit of the audit journal (one fdatasync for many writers).
CORE_SRCS += bastion/audit_commit.c
# RELP to the log store (audit-protocol relp): rsyslog's imrelp in the tests.
CORE_SRCS += bastion/audit_relp.c
DEB_TEST += rsyslog-relp
# The journal's old part moved out of it (hvbastion audit archive).
CORE_SRCS += bastion/audit_archive.c
# The tests decompress recordings and archive segments as a site would.
DEB_TEST += zstd
DAEMON_SRCS = bastion/ssh_msg.c bastion/ssh_server.c bastion/auth.c \
	    bastion/kbdint_pam.c \
	    bastion/upstream.c bastion/bridge.c bastion/session.c \
	    bastion/listener.c
# Privilege separation (issue 8): key holder, user drop, sandbox.
DAEMON_SRCS += bastion/keyholder.c bastion/kh_client.c bastion/privdrop.c
DAEMON_SRCS += bastion/seqpacket.c
DAEMON_SRCS += bastion/sandbox.c
DEB_BUILD += libseccomp-dev
SECCOMP_LIBS = $(shell pkg-config --libs libseccomp 2>/dev/null)
# The Proxmox API front's child side (issue 7).
DAEMON_SRCS += bastion/api_server.c bastion/api_tls.c bastion/api_upstream.c \
	    bastion/api_login.c bastion/api_console.c
# Privilege separation of the API front (issues 7, 8): its monitor.
DAEMON_SRCS += bastion/api_monitor.c bastion/api_mon_client.c
DAEMON_SRCS += bastion/ssh_monitor.c bastion/ssh_mon_client.c bastion/mon_split.c
DAEMON_SRCS += bastion/api_tls_key.c
CORE_SRCS += bastion/api_mon_proto.c
# The network child keeps its monitor's answers for a second.
CORE_SRCS += bastion/api_verdict.c
DAEMON_SRCS += bastion/forward.c bastion/channel_end.c
DAEMON_SRCS += bastion/audit_ship.c
CORE_OBJS   = $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_OBJS = $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)

UNIT_TESTS  = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,\
	      $(wildcard tests/unit/test_*.c))

# The PAM module and the TOTP store it shares with the CLI.
PAM_SRCS    = pam/totp_store.c
PAM_OBJS    = $(PAM_SRCS:%.c=$(BUILD)/obj/%.o)
PAM_PIC_OBJS = $(PAM_SRCS:%.c=$(BUILD)/pic/%.o)

all: $(BUILD)/hvbastiond $(BUILD)/hvbastion $(BUILD)/pam_hvbastion.so

$(BUILD)/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/hvbastiond: $(BUILD)/obj/bastion/hvbastiond.o $(DAEMON_OBJS) \
		$(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpam $(SECCOMP_LIBS) $(SAN_LIBS)

$(BUILD)/hvbastion: $(BUILD)/obj/bastion/hvbastion.o \
		$(BUILD)/obj/bastion/totp_enroll.o \
		$(BUILD)/obj/bastion/policy_cli.o \
		$(BUILD)/obj/bastion/audit_cli.o $(CORE_OBJS) $(PAM_OBJS) \
		$(BUILD)/obj/bastion/api_token_cli.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(PAM_LIBS) -lqrencode

# hvbastion audit status / emit, verify --audit (issue 6).
$(BUILD)/hvbastion: $(BUILD)/obj/bastion/audit_admin.o

$(BUILD)/pam_hvbastion.so: $(BUILD)/pic/pam/pam_hvbastion.o $(PAM_PIC_OBJS)
	$(CC) -shared -Wl,-z,relro,-z,now -Wl,--no-undefined \
	    $(filter -fsanitize=%,$(LDFLAGS)) -o $@ $^ $(PAM_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit_util.h $(CORE_OBJS) \
		$(PAM_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CORE_OBJS) $(PAM_OBJS) \
	    $(LDLIBS) $(PAM_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

# The fuzz targets, run over their seed corpora as regression tests (no
# clang needed; tests/fuzz/README.md says how to fuzz for real).
FUZZ_RUNNERS = $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/run_%,\
	       $(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/run_%: tests/fuzz/fuzz_%.c tests/fuzz/run_corpus.c $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/run_corpus.c \
	    $(CORE_OBJS) $(LDLIBS)

unit-build: $(BUILD)/pam_hvbastion.so $(UNIT_TESTS) $(FUZZ_RUNNERS)

# The test daemon (issue 8): the same daemon with testhooks.c, which makes
# a child misbehave on demand so that tests/e2e/test_sandbox.py can prove
# the sandbox and the key holder stop it.  Never installed.
TH_OBJS = $(BUILD)/th/obj/bastion/session.o $(BUILD)/th/obj/bastion/testhooks.o
TH_OBJS += $(BUILD)/th/obj/bastion/api_server.o
TH_OBJS += $(BUILD)/th/obj/bastion/audit_ship.o
TH_OBJS += $(BUILD)/th/obj/bastion/auth.o
$(BUILD)/th/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DHVB_TEST_HOOKS -c -o $@ $<

$(BUILD)/hvbastiond-testhooks: $(BUILD)/obj/bastion/hvbastiond.o \
		$(filter-out $(BUILD)/obj/bastion/session.o \
		$(BUILD)/obj/bastion/api_server.o \
		$(BUILD)/obj/bastion/audit_ship.o \
		$(BUILD)/obj/bastion/auth.o,$(DAEMON_OBJS)) \
		$(TH_OBJS) $(CORE_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpam $(SECCOMP_LIBS) $(SAN_LIBS)

unit-build: $(BUILD)/hvbastiond-testhooks

deps:
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_TEST)

# Functions this project does not use (curl's habit, checked in CI).
lint:
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol)\s*\(' \
	    bastion/*.c policy/*.c recorder/*.c pam/*.c 2>/dev/null \
	    || { echo "lint: banned function used"; exit 1; }

check: deps
	$(MAKE) all unit-build lint
	HVB_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) tests/run_all.py \
	    $(UNIT_TESTS) $(FUZZ_RUNNERS)

demo: deps all
	$(PYTHON) demo/demo.py start

demo-stop:
	$(PYTHON) demo/demo.py stop

bench: deps all $(BUILD)/bench/policy_bench
	HVB_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) bench/bench.py
	$(BUILD)/bench/policy_bench
	HVB_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) bench/api_bastion.py
	HVB_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) bench/audit_bench.py
	HVB_BIN_DIR=$(CURDIR)/$(BUILD) $(PYTHON) bench/sep_bench.py

# Privilege separation ON against OFF (issue 8): the test daemon's switch.
bench: $(BUILD)/hvbastiond-testhooks

# Policy decision time on a large generated policy (BENCHMARKS.md).
$(BUILD)/bench/policy_bench: bench/policy_bench.c $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CORE_OBJS) $(LDLIBS)

bench-policy: $(BUILD)/bench/policy_bench
	$(BUILD)/bench/policy_bench

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PAMDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/pam.d $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/hvbastiond $(DESTDIR)$(SBINDIR)/hvbastiond
	install -m 0755 $(BUILD)/hvbastion $(DESTDIR)$(BINDIR)/hvbastion
	install -m 0644 $(BUILD)/pam_hvbastion.so \
	    $(DESTDIR)$(PAMDIR)/pam_hvbastion.so
	[ -e $(DESTDIR)$(SYSCONFDIR)/pam.d/hvbastion ] || \
	    sed -e "$(PAM_FAILLOCK_SED)" pam/hvbastion \
	    > $(DESTDIR)$(SYSCONFDIR)/pam.d/hvbastion
	[ -e $(DESTDIR)$(SYSCONFDIR)/pam.d/hvbastion-api ] || \
	    sed -e "$(PAM_FAILLOCK_SED)" pam/hvbastion-api \
	    > $(DESTDIR)$(SYSCONFDIR)/pam.d/hvbastion-api

# Packaging (issue 8): the systemd unit, sysusers.d and tmpfiles.d entries,
# every man page and an example configuration.  Units go where systemd
# looks for them: /lib/systemd/system for PREFIX=/usr (Debian 12), else
# PREFIX/lib/systemd/system (systemd reads /usr/local/lib/systemd/system).
ifeq ($(PREFIX),/usr)
UNITDIR	?= /lib/systemd/system
else
UNITDIR	?= $(PREFIX)/lib/systemd/system
endif
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
STATEDIR ?= /var/lib/hvbastion
# The installed PAM service keeps pam_faillock's tallies where the daemon's
# user may write (/var/run/faillock is root's).
PAM_FAILLOCK_SED = /^[a-z].*pam_faillock\.so/{s| dir=[^ ]*||g;s|$$| dir=$(STATEDIR)/faillock|}
MAN_PAGES = man/hvbastion.1 man/hvbastion.conf.5 man/hvbastiond.8 \
	    man/pam_hvbastion.8

install: install-packaging

install-packaging:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/hvbastion \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	sed -e 's|/usr/sbin/hvbastiond|$(SBINDIR)/hvbastiond|g' \
	    systemd/hvbastiond.service > $(DESTDIR)$(UNITDIR)/hvbastiond.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/hvbastiond.service
	sed -e 's|/usr/bin/hvbastion|$(BINDIR)/hvbastion|g' \
	    systemd/hvbastion-audit-archive.service \
	    > $(DESTDIR)$(UNITDIR)/hvbastion-audit-archive.service
	install -m 0644 systemd/hvbastion-audit-archive.timer \
	    $(DESTDIR)$(UNITDIR)/hvbastion-audit-archive.timer
	chmod 0644 $(DESTDIR)$(UNITDIR)/hvbastion-audit-archive.service
	install -m 0644 systemd/hvbastion.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/hvbastion.conf
	install -m 0644 systemd/hvbastion.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/hvbastion.conf
	for m in $(MAN_PAGES); do \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/ || exit 1; \
	done
	[ -e $(DESTDIR)$(SYSCONFDIR)/hvbastion/hvbastion.conf ] || \
	    install -m 0644 systemd/hvbastion.conf.example \
	    $(DESTDIR)$(SYSCONFDIR)/hvbastion/hvbastion.conf
	@# On the live system (no DESTDIR): the user, the directories and a
	@# unit reload now, so that `systemctl enable --now hvbastiond` works.
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers $(SYSUSERSDIR)/hvbastion.conf && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/hvbastion.conf; fi
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; fi

# The Debian package: dpkg-buildpackage (debhelper, debian/) in a copy of
# the tree under build/deb, so that the tree and its build/ stay as they
# are, then lintian, which must find no error (its report is kept in
# build/deb/lintian.txt; a package that fails is deleted).  Result:
# build/deb/hvbastion_<version>_<arch>.deb, rebuilt when a file of the
# tree changes.
DEB_PACKAGING = dpkg-dev debhelper lintian
DEB_VERSION = $(shell head -n 1 debian/changelog | cut -d ' ' -f 2 | tr -d '()')
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB_FILE = build/deb/hvbastion_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_TREE = $(shell { git ls-files -co --exclude-standard 2>/dev/null || \
	   find . -path ./build -prune -o -type f -print; } | sort -u)

deb: $(DEB_FILE)

$(DEB_FILE): $(wildcard $(DEB_TREE))
	@sh tests/deps.sh $(DEB_BUILD) $(DEB_PACKAGING)
	rm -rf build/deb
	mkdir -p build/deb/src
	tar -cf - $^ | tar -C build/deb/src -xf -
	cd build/deb/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    DEB_BUILD_OPTIONS="parallel=$$(nproc) noddebs" \
	    dpkg-buildpackage -b -us -uc
	lintian --fail-on error --suppress-tags-from-file \
	    debian/lintian.suppress $@ > build/deb/lintian.txt 2>&1; \
	    rc=$$?; cat build/deb/lintian.txt; \
	    [ $$rc = 0 ] || { rm -f $@; echo "lintian: errors"; exit 1; }
	@echo "built $@"

clean:
	rm -rf build

.PHONY: all deps lint check demo demo-stop bench bench-policy install \
	clean unit-build
.PHONY: install-packaging deb
