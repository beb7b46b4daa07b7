#pragma once
// The operator console at /console: static HTML, CSS and JavaScript modules compiled into the
// binary (see console_assets.h), which call the /ops JSON API with the operator's key.
//
//   GET /console              301 to /console/
//   GET /console/             index.html
//   GET /console/<path>       each file under console/, by its exact path
//
// The files themselves hold no data, so they need no API key; every request they make to /ops
// carries one. Each answer has its Content-Type, `Cache-Control: no-cache` with a strong ETag
// (304 on a matching If-None-Match), and a Content-Security-Policy that allows only this
// origin's scripts, styles and fetches.
//
// Thread-safety: the handlers read constant data only.

#include "net/http_server.h"

namespace keelson::api {

void AddConsoleRoutes(net::Router& router);

}  // namespace keelson::api
