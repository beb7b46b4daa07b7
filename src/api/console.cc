#include "api/console.h"

#include <string>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "api/console_assets.h"
#include "core/strings.h"

namespace keelson::api {
namespace {

using net::http::field;
using net::http::status;
using net::http::verb;

// Scripts, styles, images and fetches from this origin only: no inline script, no eval, and the
// console cannot be framed by another site.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

boost::beast::string_view Bsv(std::string_view s) { return {s.data(), s.size()}; }

// RFC 9110 13.1.2: If-None-Match is "*" or a list of entity tags, compared weakly.
bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  for (absl::string_view tag : absl::StrSplit(core::AbslSv(if_none_match), ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    absl::ConsumePrefix(&tag, "W/");
    if (tag == "*" || tag == core::AbslSv(etag)) return true;
  }
  return false;
}

net::Handler ServeAsset(const ConsoleAsset& asset) {
  return [&asset](net::HttpRequest& req, net::Responder respond) {
    const bool not_modified = EtagMatches(req.Header("If-None-Match"), asset.etag);
    net::HttpResponse res{not_modified ? status::not_modified : status::ok, 11};
    res.set(field::etag, Bsv(asset.etag));
    res.set(field::cache_control, "no-cache");
    res.set("Content-Security-Policy", Bsv(kContentSecurityPolicy));
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    if (!not_modified) {
      res.set(field::content_type, Bsv(asset.content_type));
      res.body() = std::string(asset.bytes);
    }
    respond(std::move(res));
  };
}

}  // namespace

void AddConsoleRoutes(net::Router& router) {
  const ConsoleAsset* index = nullptr;
  for (const ConsoleAsset& asset : ConsoleAssets()) {
    if (asset.path == "index.html") index = &asset;
    router.Add(verb::get, "/console/" + std::string(asset.path), ServeAsset(asset));
  }
  // The router ignores empty segments, so "/console" and "/console/" arrive here both; the page
  // loads its files by absolute paths, but its address should still end in a slash.
  net::Handler serve_index = index != nullptr ? ServeAsset(*index) : net::Handler();
  router.Add(verb::get, "/console", [serve_index](net::HttpRequest& req, net::Responder respond) {
    if (!req.path.ends_with('/')) {
      net::HttpResponse res{status::moved_permanently, 11};
      res.set(field::location, "/console/");
      respond(std::move(res));
    } else if (serve_index) {
      serve_index(req, std::move(respond));
    } else {
      respond(net::Problem(status::not_found, "Not Found", "the console has no index.html"));
    }
  });
}

}  // namespace keelson::api
