# edgehmi: `make run` builds and starts the demo; `make test` runs every test.
# Both install what they need first (Debian packages, npm packages).

SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
LISTEN  ?= 127.0.0.1:8080
DATA    ?= ./data

TEST_PACKAGES    := chromium xvfb xauth imagemagick curl python3-pymodbus mosquitto qemu-user-static systemd adduser matchbox-window-manager
DESKTOP_PACKAGES := libgtk-3-dev libwebkit2gtk-4.0-dev pkg-config gcc

FRONTEND_SRC := $(shell find frontend/src frontend/index.html frontend/vite.config.ts frontend/package.json -type f 2>/dev/null)
# node-opcua, the foreign OPC UA server of the opcua driver's integration tests
NODEOPCUA    := backend/driver/opcua/testdata/nodeopcua
# the MQTT subscriber (sparkplug-payload) of the Sparkplug B integration tests
SPBSUB       := backend/sparkplug/testdata/subscriber

.PHONY: all run build frontend test test-go test-frontend e2e desktop desktop-check bench cross lint clean release qemu-test package-test

all: build

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

$(NODEOPCUA)/node_modules/.package-lock.json: $(NODEOPCUA)/package-lock.json
	npm ci --prefix $(NODEOPCUA) --no-audit --no-fund
	@touch $@

$(SPBSUB)/node_modules/.package-lock.json: $(SPBSUB)/package-lock.json
	npm ci --prefix $(SPBSUB) --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

bin/edgehmi: frontend/dist/index.html $(shell find . -name '*.go' -not -path './frontend/node_modules/*') go.mod go.sum examples/demo.yaml
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $@ .

build: bin/edgehmi

## run: build, then start the demo plant and the HMI on $(LISTEN)
run: build
	@echo "starting edgehmi demo; open the URL below (Ctrl-C stops it)"
	./bin/edgehmi serve --demo --listen $(LISTEN) --data $(DATA)

## test: every test: Go (vet, race), frontend (types, units), browser, desktop window
test: build
	./scripts/ensure-packages.sh $(TEST_PACKAGES) $(DESKTOP_PACKAGES)
	$(MAKE) lint test-go test-frontend release qemu-test package-test e2e desktop-check

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags desktop,production,webkit2_40 ./...

test-go: $(NODEOPCUA)/node_modules/.package-lock.json $(SPBSUB)/node_modules/.package-lock.json
	./scripts/ensure-packages.sh mosquitto
	EDGEHMI_REQUIRE_PYMODBUS=1 EDGEHMI_REQUIRE_NODEOPCUA=1 EDGEHMI_REQUIRE_MOSQUITTO=1 $(GO) test -race -count=1 ./...
	$(GO) test -race -count=1 -tags desktop,production,webkit2_40 ./app/

test-frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run check && npm test

## release: the headless server for linux/amd64, arm64 and armv7 (static,
## version stamped), a Debian package of each, the desktop app for
## linux/amd64 when the GTK/WebKit dev packages are there, and SHA256SUMS: in dist/
release: frontend/dist/index.html
	rm -rf dist && mkdir -p dist
	@set -e; for t in amd64:amd64: arm64:arm64: armv7:arm:7; do \
	  name=$${t%%:*}; rest=$${t#*:}; arch=$${rest%%:*}; arm=$${rest#*:}; \
	  echo "dist/edgehmi-linux-$$name"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o dist/edgehmi-linux-$$name . ; \
	  ./scripts/package.sh $$arch dist/edgehmi-linux-$$name $(VERSION) dist; \
	done
	@if pkg-config --exists gtk+-3.0 webkit2gtk-4.0 2>/dev/null; then \
	  $(MAKE) desktop && cp bin/edgehmi-desktop dist/edgehmi-desktop-linux-amd64; \
	else echo "release: no GTK/WebKit dev packages ($(DESKTOP_PACKAGES)): no desktop app"; fi
	cd dist && sha256sum edgehmi* > SHA256SUMS && cat SHA256SUMS

## qemu-test: the ARM binaries of dist/ serve the demo under qemu-user-static
qemu-test:
	./scripts/ensure-packages.sh qemu-user-static curl python3
	EDGEHMI_REQUIRE_QEMU=1 ./scripts/qemu-test.sh dist

## package-test: install, upgrade, remove and purge the amd64 package here (root; CI)
package-test: frontend/dist/index.html
	./scripts/ensure-packages.sh systemd adduser curl python3
	EDGEHMI_REQUIRE_PACKAGE_TEST=$${CI:+1} ./scripts/package-test.sh

cross:
	CGO_ENABLED=0 GOARCH=arm64 $(GO) build -trimpath -o /dev/null .
	@echo "linux/arm64 cross-build ok"

e2e: build
	./scripts/ensure-packages.sh chromium xvfb matchbox-window-manager
	cd frontend && EDGEHMI_BIN=$(CURDIR)/bin/edgehmi EDGEHMI_REQUIRE_XVFB=1 npm run e2e

## desktop: the Wails desktop app (needs Debian's GTK and WebKitGTK dev packages)
desktop: frontend/dist/index.html
	./scripts/ensure-packages.sh $(DESKTOP_PACKAGES)
	CGO_ENABLED=1 $(GO) build -trimpath -tags desktop,production,webkit2_40 -ldflags "$(LDFLAGS)" -o bin/edgehmi-desktop .

desktop-check: desktop
	./scripts/ensure-packages.sh xvfb xauth imagemagick
	./scripts/desktop-check.sh bin/edgehmi-desktop

## bench: benchmarks and measurements (docs/benchmarks.md records them)
bench: build $(NODEOPCUA)/node_modules/.package-lock.json
	./scripts/ensure-packages.sh mosquitto
	./scripts/bench.sh
	./scripts/bench-release.sh dist

clean:
	rm -rf bin dist frontend/node_modules frontend/e2e/out $(NODEOPCUA)/node_modules $(SPBSUB)/node_modules
	find frontend/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true
