# Headless Chromium for the browser tests (tests/browser): Debian's own packages, so nothing downloads a
# browser build of its own. Installed only when missing (apt needs root; a machine with them needs none).
BROWSER_DEPS := chromium chromium-driver fonts-liberation

.PHONY: browser-deps
browser-deps:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then echo "browser-deps: chromium and chromedriver present"; else \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(BROWSER_DEPS); fi
