# The two commands that matter: `make demo` and `make test`. Both install what is missing first.
PRESET ?= release
BUILD_DIR := build/$(PRESET)

.PHONY: all deps build test demo bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j2

# The suite's real servers (PostgreSQL, sshd for SFTP, NATS JetStream) run on loopback for the
# length of the run: scripts/test-services.sh.
test: build
	@scripts/test-services.sh run -- ctest --preset $(PRESET)

demo: build
	$(BUILD_DIR)/keelson demo --dir var/demo

bench: build
	@bench/run_intake.sh $(BUILD_DIR)
	@$(BUILD_DIR)/order_to_cash_load --keelson $(BUILD_DIR)/keelson --orders 3000 --threads 16
	@$(BUILD_DIR)/bc_throttle_load --duration_s 60

format:
	@find src sim bench tests -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
