#!/usr/bin/env bash
# Vendor the console's third-party assets from npm into the Python package, at build time.
# Why: a node must run air-gapped; nothing is fetched from a CDN or tile server at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=src/jointwatch/web/static/vendor
(cd web && npm ci --no-audit --no-fund --loglevel=error)
rm -rf "$out"
mkdir -p "$out/swagger-ui"
cp web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css "$out/"
cp -r web/node_modules/leaflet/dist/images "$out/images"
cp web/node_modules/topojson-client/dist/topojson-client.min.js "$out/"
cp web/node_modules/world-atlas/land-50m.json web/node_modules/world-atlas/countries-50m.json "$out/"
cp web/node_modules/swagger-ui-dist/swagger-ui-bundle.js web/node_modules/swagger-ui-dist/swagger-ui.css \
   web/node_modules/swagger-ui-dist/favicon-32x32.png "$out/swagger-ui/"
for pkg in leaflet topojson-client world-atlas swagger-ui-dist; do
  cp "web/node_modules/$pkg/LICENSE" "$out/LICENSE.$pkg" 2>/dev/null || true
done
touch "$out/.stamp"
echo "vendored console assets into $out"
