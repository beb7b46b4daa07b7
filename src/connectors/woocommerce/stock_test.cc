#include "connectors/woocommerce/stock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/clock.h"
#include "jobs/retry_policy.h"
#include "net/http_client.h"
#include "sim/woocommerce.h"
#include "tests/support/status_matchers.h"

namespace keelson::connectors::woocommerce {
namespace {

using ::testing::HasSubstr;

class WooStockPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_ = std::make_unique<sim::WooCommerceSim>(sim::WooCommerceSim::Options{
        .consumer_key = "ck_sim", .consumer_secret = "cs_sim", .clock = &clock_});
    KEELSON_ASSERT_OK(sim_->Start());
    http_ = net::NewCurlHttpClient();
    rest_ = NewRestClient({.store_url = sim_->url(),
                           .consumer_key = "ck_sim",
                           .consumer_secret = "cs_sim",
                           .timeout = absl::Seconds(10),
                           .clock = &clock_},
                          *http_);
    publisher_ = std::make_unique<StockPublisher>(*rest_);
  }
  static std::string Sku(int i) { return absl::StrFormat("SKU-%03d", i); }
  void AddSimple(int count) {
    for (int i = 0; i < count; ++i) {
      KEELSON_ASSERT_OK(sim_->AddProduct({.sku = Sku(i)}).status());
    }
  }

  core::FakeClock clock_;
  std::unique_ptr<sim::WooCommerceSim> sim_;
  std::unique_ptr<net::HttpClient> http_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<StockPublisher> publisher_;
};

TEST_F(WooStockPublisherTest, Publishes250SkusInThreeBatchCallsThenFromTheCache) {
  AddSimple(250);
  std::vector<StockLevel> levels;
  for (int i = 0; i < 250; ++i) levels.push_back({.sku = Sku(i), .quantity = i + 1});
  std::vector<StockItemOutcome> out = publisher_->Publish(levels);
  ASSERT_EQ(out.size(), 250u);
  for (const StockItemOutcome& o : out) EXPECT_TRUE(o.status.ok()) << o.sku << ": " << o.status;
  EXPECT_EQ(out[7].sku, "SKU-007");
  EXPECT_EQ(out[7].product_id, 17);
  EXPECT_EQ(out[7].variation_id, 0);
  EXPECT_EQ(out[7].shop_quantity, 8);
  EXPECT_EQ(out[7].shop_stock_status, "instock");
  EXPECT_EQ(sim_->StockBySku("SKU-249")->stock_quantity, 250);
  sim::WooSimStats s = sim_->stats();
  EXPECT_EQ(s.batch_calls, 3);
  EXPECT_EQ(s.items_updated, 250);
  EXPECT_EQ(s.sku_lookups, 3);  // 100 SKUs per lookup
  StockPublisherStats p = publisher_->stats();
  EXPECT_EQ(p.lookup_calls, 3);
  EXPECT_EQ(p.batch_calls, 3);
  EXPECT_EQ(p.items_sent, 250);
  EXPECT_EQ(p.cache_misses, 250);
  EXPECT_EQ(p.cache_hits, 0);

  for (StockLevel& l : levels) l.quantity = 0;
  out = publisher_->Publish(levels);
  for (const StockItemOutcome& o : out) EXPECT_TRUE(o.status.ok()) << o.sku << ": " << o.status;
  EXPECT_EQ(out[7].shop_stock_status, "outofstock");
  s = sim_->stats();
  EXPECT_EQ(s.sku_lookups, 3);  // no lookups the second time
  EXPECT_EQ(s.product_gets, 3);
  EXPECT_EQ(s.batch_calls, 6);
  p = publisher_->stats();
  EXPECT_EQ(p.lookup_calls, 3);
  EXPECT_EQ(p.cache_hits, 250);
  EXPECT_EQ(p.cache_misses, 250);
}

TEST_F(WooStockPublisherTest, VariationsGoToTheirParentOrTheirOwnBatch) {
  KEELSON_ASSERT_OK_AND_ASSIGN(
      sim::WooProductIds hoodie,
      sim_->AddProduct({.sku = "HOODIE",
                        .type = "variable",
                        .stock_quantity = 7,
                        .variations = {{.sku = "HOODIE-S", .manage_stock = false},
                                       {.sku = "HOODIE-L", .stock_quantity = 2}}}));
  KEELSON_ASSERT_OK_AND_ASSIGN(
      sim::WooProductIds shirt,
      sim_->AddProduct({.sku = "TSHIRT",
                        .type = "variable",
                        .manage_stock = false,
                        .variations = {{.sku = "TSHIRT-M", .stock_quantity = 3}}}));
  const StockLevel levels[] = {{.sku = "HOODIE-S", .quantity = 11},
                               {.sku = "HOODIE-L", .quantity = 4},
                               {.sku = "TSHIRT-M", .quantity = 0, .stock_status = "outofstock"}};
  std::vector<StockItemOutcome> out = publisher_->Publish(levels);
  for (const StockItemOutcome& o : out) EXPECT_TRUE(o.status.ok()) << o.sku << ": " << o.status;
  EXPECT_EQ(out[0].product_id, hoodie.id);
  EXPECT_EQ(out[0].variation_id, hoodie.variation_ids[0]);
  EXPECT_EQ(out[0].shop_quantity, 11);
  EXPECT_EQ(sim_->StockBySku("HOODIE")->stock_quantity, 11);  // the parent took it
  EXPECT_EQ(sim_->StockBySku("HOODIE-S")->stock_quantity, 11);
  EXPECT_EQ(sim_->StockBySku("HOODIE-L")->stock_quantity, 4);
  EXPECT_EQ(out[2].variation_id, shirt.variation_ids[0]);
  EXPECT_EQ(sim_->StockBySku("TSHIRT-M")->stock_status, "outofstock");
  EXPECT_EQ(sim_->StockBySku("TSHIRT")->stock_status, "outofstock");  // synced from children
  // products/batch (HOODIE) + HOODIE's variations/batch + TSHIRT's variations/batch.
  EXPECT_EQ(sim_->stats().batch_calls, 3);
  EXPECT_EQ(publisher_->stats().lookup_calls, 1);
}

TEST_F(WooStockPublisherTest, AnItemFailureFailsOnlyThatSku) {
  AddSimple(3);
  sim_->FailNextBatchItem(Sku(1));
  const StockLevel levels[] = {{.sku = Sku(0), .quantity = 5},
                               {.sku = Sku(1), .quantity = 5},
                               {.sku = Sku(2), .quantity = 5}};
  std::vector<StockItemOutcome> out = publisher_->Publish(levels);
  KEELSON_EXPECT_OK(out[0].status);
  EXPECT_THAT(out[1].status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(out[1].status.message()),
              HasSubstr("HTTP 400 product_invalid_sku: Invalid or duplicated SKU."));
  KEELSON_EXPECT_OK(out[2].status);
  EXPECT_EQ(sim_->StockBySku(Sku(1))->stock_quantity, 0);
  EXPECT_EQ(sim_->StockBySku(Sku(2))->stock_quantity, 5);
  EXPECT_EQ(sim_->stats().items_failed, 1);
  EXPECT_EQ(sim_->stats().batch_calls, 1);
}

TEST_F(WooStockPublisherTest, AnUnknownSkuIsNotFoundForItAlone) {
  AddSimple(2);
  const StockLevel levels[] = {{.sku = Sku(0), .quantity = 1},
                               {.sku = "NOPE", .quantity = 1},
                               {.sku = Sku(1), .quantity = 1}};
  std::vector<StockItemOutcome> out = publisher_->Publish(levels);
  KEELSON_EXPECT_OK(out[0].status);
  EXPECT_THAT(out[1].status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(out[1].status.message()), HasSubstr("\"NOPE\""));
  EXPECT_EQ(out[1].product_id, 0);
  KEELSON_EXPECT_OK(out[2].status);
  EXPECT_EQ(sim_->stats().items_updated, 2);
}

TEST_F(WooStockPublisherTest, AFailedCallFailsItsItemsOnlyWithItsRetryableStatus) {
  AddSimple(2);
  KEELSON_ASSERT_OK(sim_->AddProduct({.sku = "V",
                                      .type = "variable",
                                      .manage_stock = false,
                                      .variations = {{.sku = "V-1"}}})
                        .status());
  const StockLevel levels[] = {{.sku = Sku(0), .quantity = 3},
                               {.sku = Sku(1), .quantity = 3},
                               {.sku = "V-1", .quantity = 3}};
  for (const auto& o : publisher_->Publish(levels)) KEELSON_EXPECT_OK(o.status);
  // From the cache now, so the next request is products/batch, which is throttled.
  sim_->FailNextRestRequests(1, 429, 5);
  const StockLevel again[] = {{.sku = Sku(0), .quantity = 4},
                              {.sku = Sku(1), .quantity = 4},
                              {.sku = "V-1", .quantity = 4}};
  std::vector<StockItemOutcome> out = publisher_->Publish(again);
  EXPECT_THAT(out[0].status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(jobs::RetryAfterOf(out[0].status), absl::Seconds(5));
  EXPECT_THAT(out[1].status, StatusIs(absl::StatusCode::kResourceExhausted));
  KEELSON_EXPECT_OK(out[2].status);
  EXPECT_EQ(sim_->StockBySku("V-1")->stock_quantity, 4);
  EXPECT_EQ(sim_->StockBySku(Sku(0))->stock_quantity, 3);
  // A lookup that fails fails the SKUs it was for.
  publisher_->ClearCache();
  sim_->FailNextRestRequests(1, 503);
  out = publisher_->Publish(again);
  for (const auto& o : out) EXPECT_THAT(o.status, StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(WooStockPublisherTest, ScanFindsEverySkuWithItsStockAndFillsTheCache) {
  AddSimple(150);  // two pages
  KEELSON_ASSERT_OK_AND_ASSIGN(
      sim::WooProductIds hoodie,
      sim_->AddProduct({.sku = "HOODIE",
                        .type = "variable",
                        .stock_quantity = 7,
                        .variations = {{.sku = "HOODIE-S", .manage_stock = false},
                                       {.sku = "HOODIE-L", .stock_quantity = 2}}}));
  KEELSON_ASSERT_OK(sim_->SetStockBySku(Sku(42), 9));  // drift behind Keelson's back
  std::map<std::string, ShopStock> seen;
  KEELSON_ASSERT_OK(publisher_->Scan([&](const ShopStock& s) {
    EXPECT_TRUE(seen.emplace(s.sku, s).second) << s.sku;
    return absl::OkStatus();
  }));
  ASSERT_EQ(seen.size(), 153u);
  EXPECT_EQ(seen[Sku(42)].quantity, 9);
  EXPECT_EQ(seen[Sku(42)].stock_status, "instock");
  EXPECT_EQ(seen[Sku(0)].quantity, 0);
  EXPECT_EQ(seen[Sku(0)].stock_status, "outofstock");
  EXPECT_TRUE(seen[Sku(0)].managed);
  EXPECT_EQ(seen["HOODIE"].quantity, 7);
  EXPECT_EQ(seen["HOODIE-S"].manage_stock, "parent");
  EXPECT_TRUE(seen["HOODIE-S"].managed);
  EXPECT_EQ(seen["HOODIE-S"].quantity, 7);
  EXPECT_EQ(seen["HOODIE-S"].product_id, hoodie.id);
  EXPECT_EQ(seen["HOODIE-S"].variation_id, hoodie.variation_ids[0]);
  EXPECT_EQ(seen["HOODIE-L"].quantity, 2);
  EXPECT_EQ(publisher_->stats().list_calls, 3);  // 2 product pages + 1 variations page

  std::vector<StockLevel> levels;
  for (const auto& [sku, s] : seen) levels.push_back({.sku = sku, .quantity = 1});
  for (const auto& o : publisher_->Publish(levels))
    EXPECT_TRUE(o.status.ok()) << o.sku << ": " << o.status;
  EXPECT_EQ(publisher_->stats().lookup_calls, 0);
  EXPECT_EQ(sim_->stats().sku_lookups, 0);
  EXPECT_EQ(sim_->StockBySku("HOODIE")->stock_quantity, 1);

  // An error from on_item stops the scan and comes back.
  EXPECT_THAT(publisher_->Scan([](const ShopStock&) { return absl::AbortedError("enough"); }),
              StatusIs(absl::StatusCode::kAborted));
}

TEST_F(WooStockPublisherTest, SeveralWorkersPublishAtOnce) {
  AddSimple(200);
  std::vector<std::thread> workers;
  std::vector<std::vector<StockItemOutcome>> outs(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      std::vector<StockLevel> levels;
      for (int i = w * 50; i < (w + 1) * 50; ++i) levels.push_back({.sku = Sku(i), .quantity = i});
      outs[w] = publisher_->Publish(levels);
    });
  }
  for (auto& t : workers) t.join();
  for (const auto& out : outs) {
    for (const auto& o : out) EXPECT_TRUE(o.status.ok()) << o.sku << ": " << o.status;
  }
  EXPECT_EQ(sim_->StockBySku(Sku(199))->stock_quantity, 199);
  EXPECT_EQ(publisher_->stats().items_sent, 200);
}

// A measurement, not a check (run with --gtest_also_run_disabled_tests): 100,000 SKUs, 75,000
// simple products and 5,000 variable ones with 4 variations each (one parent-managed).
TEST_F(WooStockPublisherTest, DISABLED_Measure100kSkus) {
  absl::Time t0 = absl::Now();
  int n = 0;
  for (int i = 0; i < 75000; ++i) {
    KEELSON_ASSERT_OK(
        sim_->AddProduct({.sku = absl::StrCat("S-", i), .stock_quantity = 5}).status());
    ++n;
  }
  for (int i = 0; i < 5000; ++i) {
    sim::WooProductSpec spec{.sku = absl::StrCat("V-", i), .type = "variable", .stock_quantity = 3};
    for (int k = 0; k < 4; ++k) {
      spec.variations.push_back({.sku = absl::StrCat("V-", i, "-", k), .manage_stock = k != 0});
    }
    KEELSON_ASSERT_OK(sim_->AddProduct(spec).status());
    n += 5;
  }
  const absl::Duration populate = absl::Now() - t0;
  std::vector<StockLevel> levels;
  t0 = absl::Now();
  KEELSON_ASSERT_OK(publisher_->Scan([&](const ShopStock& s) {
    levels.push_back({.sku = s.sku, .quantity = s.quantity.value_or(0) + 1});
    return absl::OkStatus();
  }));
  const absl::Duration scan = absl::Now() - t0;
  ASSERT_EQ(levels.size(), static_cast<size_t>(n));
  t0 = absl::Now();
  std::vector<StockItemOutcome> out = publisher_->Publish(levels);
  const absl::Duration publish_warm = absl::Now() - t0;
  int failed = 0;
  for (const auto& o : out) failed += o.status.ok() ? 0 : 1;
  StockPublisher cold(*rest_);
  t0 = absl::Now();
  out = cold.Publish(levels);
  const absl::Duration publish_cold = absl::Now() - t0;
  for (const auto& o : out) failed += o.status.ok() ? 0 : 1;
  EXPECT_EQ(failed, 0);
  const StockPublisherStats w = publisher_->stats(), c = cold.stats();
  std::printf(
      "skus=%d populate=%s scan=%s (%lld list calls) publish_warm=%s (%lld batch calls) "
      "publish_cold=%s (%lld lookups, %lld batch calls)\n",
      n, absl::FormatDuration(populate).c_str(), absl::FormatDuration(scan).c_str(),
      static_cast<long long>(w.list_calls), absl::FormatDuration(publish_warm).c_str(),
      static_cast<long long>(w.batch_calls), absl::FormatDuration(publish_cold).c_str(),
      static_cast<long long>(c.lookup_calls), static_cast<long long>(c.batch_calls));
}
}  // namespace
}  // namespace keelson::connectors::woocommerce
