// One suite for every FileTransport (in the style of Arrow's filesystem/test_util.h): the local
// directory, and SFTP against the real OpenSSH sshd that scripts/test-services.sh starts (skipped,
// saying so, without it). Then what only SFTP has: host key checks, a refused login, reconnecting
// after the session dropped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "absl/strings/str_cat.h"
#include "edi/transport/file_transport.h"
#include "edi/transport/local_transport.h"
#include "edi/transport/sftp_transport.h"
#include "tests/support/process.h"
#include "tests/support/sftp_env.h"
#include "tests/support/status_matchers.h"

namespace keelson::edi {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::vector<std::string> Names(const std::vector<RemoteFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.name);
  return out;
}

TEST(FileTransportNamesTest, InProgressNamesAreSkipped) {
  EXPECT_TRUE(IsInProgressName("940_1.x12.tmp"));
  EXPECT_TRUE(IsInProgressName("945.X12.PART"));
  EXPECT_TRUE(IsInProgressName("945.x12.filepart"));
  EXPECT_TRUE(IsInProgressName(".945.x12"));
  EXPECT_TRUE(IsInProgressName(""));
  EXPECT_FALSE(IsInProgressName("945_1.x12"));
  EXPECT_FALSE(IsInProgressName("tmp.x12"));
  EXPECT_EQ(JoinPath("in", "a.x12"), "in/a.x12");
  EXPECT_EQ(JoinPath("/in/", "a.x12"), "/in/a.x12");
  EXPECT_EQ(JoinPath("", "a.x12"), "a.x12");
}

TEST(SettleTrackerTest, AFileIsReadyOnceOldEnoughOrUnchangedBetweenTwoListings) {
  const absl::Time now = absl::FromUnixSeconds(1'767'225'600);
  SettleTracker t(absl::Seconds(5));
  std::vector<RemoteFile> listing = {
      {.name = "old.x12", .size = 10, .mtime = now - absl::Seconds(60)},
      {.name = "growing.x12", .size = 10, .mtime = now - absl::Seconds(1)},
      {.name = "steady.x12", .size = 7, .mtime = now - absl::Seconds(2)},
      {.name = "upload.x12.tmp", .size = 10, .mtime = now - absl::Seconds(60)},
      {.name = "archive", .size = 0, .mtime = now - absl::Seconds(60), .regular = false}};
  EXPECT_THAT(Names(t.Ready(listing, now)), ElementsAre("old.x12"));
  // One second later: "growing" grew, "steady" did not.
  listing[1].size = 20;
  listing[1].mtime = now;
  EXPECT_THAT(Names(t.Ready(listing, now + absl::Seconds(1))),
              ElementsAre("old.x12", "steady.x12"));
  // Stopped growing: ready at the next listing.
  EXPECT_THAT(Names(t.Ready(listing, now + absl::Seconds(2))),
              ElementsAre("old.x12", "steady.x12", "growing.x12"));

  SettleTracker at_once(absl::ZeroDuration());
  EXPECT_THAT(Names(at_once.Ready(listing, now)),
              ElementsAre("old.x12", "steady.x12", "growing.x12"));
}

// ---- the conformance suite -------------------------------------------------------------------

struct TransportCase {
  std::string name;
  // A transport and a fresh, empty folder on it (absolute) for one test; nullptr = skip.
  std::function<std::unique_ptr<FileTransport>(std::string* folder, std::string* skip)> make;
};

void PrintTo(const TransportCase& c, std::ostream* os) { *os << c.name; }

class TransportConformanceTest : public ::testing::TestWithParam<TransportCase> {
 protected:
  void SetUp() override {
    std::string skip;
    t_ = GetParam().make(&dir_, &skip);
    if (t_ == nullptr) GTEST_SKIP() << skip;
    KEELSON_ASSERT_OK(t_->MakeDirs(dir_));
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);  // both transports' folders are local here
    }
  }
  std::string In(const std::string& name) const { return JoinPath(dir_, name); }

  std::unique_ptr<FileTransport> t_;
  std::string dir_;
  absl::Time now_ = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01T00:00:00Z
};

TEST_P(TransportConformanceTest, WritesAtomicallyListsReadsAndArchivesWithoutOverwriting) {
  const std::string x12 = "ISA*00*          *00*          *ZZ*ACME~";
  KEELSON_ASSERT_OK(t_->MakeDirs(In("in")));
  KEELSON_ASSERT_OK(t_->WriteAtomic(In("in"), "945_1.x12", x12));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto listing, t_->List(In("in")));
  ASSERT_EQ(listing.size(), 1u);  // no .tmp left behind
  EXPECT_EQ(listing[0].name, "945_1.x12");
  EXPECT_EQ(listing[0].size, x12.size());
  EXPECT_TRUE(listing[0].regular);
  EXPECT_LT(absl::AbsDuration(listing[0].mtime - absl::Now()), absl::Minutes(1));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string back, t_->Read(In("in/945_1.x12"), 1 << 20));
  EXPECT_EQ(back, x12);
  // Written again (a retry): replaced, still one file.
  KEELSON_ASSERT_OK(t_->WriteAtomic(In("in"), "945_1.x12", x12 + "GS~"));
  KEELSON_ASSERT_OK_AND_ASSIGN(back, t_->Read(In("in/945_1.x12"), 1 << 20));
  EXPECT_EQ(back, x12 + "GS~");

  // Archived under its name; the same name again gets a timestamp, then a counter.
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string a1,
                               MoveAside(*t_, In("in"), "945_1.x12", In("archive"), now_));
  EXPECT_EQ(a1, "945_1.x12");
  KEELSON_ASSERT_OK(t_->WriteAtomic(In("in"), "945_1.x12", x12));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string a2,
                               MoveAside(*t_, In("in"), "945_1.x12", In("archive"), now_));
  EXPECT_EQ(a2, "945_1.x12.20260101T000000Z");
  KEELSON_ASSERT_OK(t_->WriteAtomic(In("in"), "945_1.x12", x12));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string a3,
                               MoveAside(*t_, In("in"), "945_1.x12", In("archive"), now_));
  EXPECT_EQ(a3, "945_1.x12.20260101T000000Z.2");
  KEELSON_ASSERT_OK_AND_ASSIGN(listing, t_->List(In("in")));
  EXPECT_THAT(listing, IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(listing, t_->List(In("archive")));
  EXPECT_THAT(Names(listing), UnorderedElementsAre("945_1.x12", "945_1.x12.20260101T000000Z",
                                                   "945_1.x12.20260101T000000Z.2"));
  KEELSON_ASSERT_OK_AND_ASSIGN(back, t_->Read(In("archive/945_1.x12"), 1 << 20));
  EXPECT_EQ(back, x12 + "GS~");
}

TEST_P(TransportConformanceTest, APollSkipsFilesStillBeingUploaded) {
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "done.x12", "ISA~"));
  // A partner's upload in progress, and a folder.
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "upload.x12.tmp", "ISA*half"));
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "upload2.x12.part", "ISA*half"));
  KEELSON_ASSERT_OK(t_->MakeDirs(In("archive")));
  KEELSON_ASSERT_OK_AND_ASSIGN(auto listing, t_->List(dir_));
  EXPECT_THAT(Names(listing),
              UnorderedElementsAre("done.x12", "upload.x12.tmp", "upload2.x12.part", "archive"));
  // Everything was modified just now: with a 5 s settle time only the second listing (unchanged
  // sizes and times) makes done.x12 ready; in-progress names and folders never are.
  absl::Time newest = absl::InfinitePast();
  for (const auto& f : listing) newest = std::max(newest, f.mtime);
  SettleTracker settle(absl::Seconds(5));
  EXPECT_THAT(settle.Ready(listing, newest + absl::Seconds(1)), IsEmpty());
  KEELSON_ASSERT_OK_AND_ASSIGN(listing, t_->List(dir_));
  EXPECT_THAT(Names(settle.Ready(listing, newest + absl::Seconds(2))), ElementsAre("done.x12"));
}

TEST_P(TransportConformanceTest, ErrorsAreClassified) {
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "a.x12", "AAAA"));
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "b.x12", "BBBB"));
  EXPECT_THAT(t_->Rename(In("a.x12"), In("b.x12")), StatusIs(absl::StatusCode::kAlreadyExists));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string b, t_->Read(In("b.x12"), 100));
  EXPECT_EQ(b, "BBBB");  // not replaced
  EXPECT_THAT(t_->Read(In("nope.x12"), 100).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(t_->List(In("nope")).status(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(t_->Read(In("a.x12"), 3).status(), StatusIs(absl::StatusCode::kResourceExhausted));
  KEELSON_ASSERT_OK_AND_ASSIGN(bool there, t_->Exists(In("a.x12")));
  EXPECT_TRUE(there);
  KEELSON_ASSERT_OK(t_->Remove(In("a.x12")));
  KEELSON_ASSERT_OK_AND_ASSIGN(there, t_->Exists(In("a.x12")));
  EXPECT_FALSE(there);
  KEELSON_ASSERT_OK(t_->MakeDirs(In("x/y/z")));
  KEELSON_ASSERT_OK(t_->MakeDirs(In("x/y/z")));  // again: fine
  KEELSON_ASSERT_OK_AND_ASSIGN(there, t_->Exists(In("x/y/z")));
  EXPECT_TRUE(there);
}

TEST_P(TransportConformanceTest, ALargeFileRoundTripsInChunks) {
  std::string big;
  for (int i = 0; big.size() < 3 * 1024 * 1024 + 17; ++i) {
    absl::StrAppend(&big, "W12*CC*", i, "*", i, "*0*EA**SK*SKU-", i, "~\n");
  }
  KEELSON_ASSERT_OK(t_->WriteAtomic(dir_, "big.x12", big));
  KEELSON_ASSERT_OK_AND_ASSIGN(std::string back, t_->Read(In("big.x12"), 64 << 20));
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back == big);
}

std::unique_ptr<FileTransport> MakeLocal(std::string* folder, std::string*) {
  static int n = 0;
  *folder = absl::StrCat(std::filesystem::temp_directory_path().string(), "/keelson-edi-local-",
                         getpid(), "-", ++n);
  return NewLocalTransport("");
}

std::unique_ptr<FileTransport> MakeSftp(std::string* folder, std::string* skip) {
  auto env = keelson::testing::GetSftpEnv();
  if (!env) {
    *skip = keelson::testing::SftpSkipReason();
    return nullptr;
  }
  static int n = 0;
  *folder = absl::StrCat(env->root, "/transport-", getpid(), "-", ++n);
  auto t = NewSftpTransport(env->options);
  if (!t.ok()) {
    *skip = std::string(t.status().message());
    return nullptr;
  }
  return std::move(*t);
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportConformanceTest,
                         ::testing::Values(TransportCase{"Local", MakeLocal},
                                           TransportCase{"Sftp", MakeSftp}),
                         [](const auto& info) { return info.param.name; });

// ---- SFTP only -------------------------------------------------------------------------------

class SftpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = keelson::testing::GetSftpEnv();
    if (!env) GTEST_SKIP() << keelson::testing::SftpSkipReason();
    env_ = *env;
    dir_ = absl::StrCat(env_.root, "/sftp-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  keelson::testing::SftpEnv env_;
  std::string dir_;
};

TEST_F(SftpTransportTest, ReconnectsAfterTheSessionDropped) {
  KEELSON_ASSERT_OK_AND_ASSIGN(auto t, NewSftpTransport(env_.options));
  EXPECT_EQ(t->connects(), 0);  // nothing happens before the first call
  KEELSON_ASSERT_OK(t->MakeDirs(dir_));
  KEELSON_ASSERT_OK(t->WriteAtomic(dir_, "a.x12", "ISA~"));
  EXPECT_EQ(t->connects(), 1);
  t->DropConnectionForTesting();
  // The call that finds the session dead fails as a technical error (the job runner retries)...
  EXPECT_THAT(t->List(dir_).status(), StatusIs(absl::StatusCode::kUnavailable));
  // ... and the next one connects again.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto listing, t->List(dir_));
  EXPECT_THAT(Names(listing), ElementsAre("a.x12"));
  EXPECT_EQ(t->connects(), 2);
  KEELSON_ASSERT_OK(t->WriteAtomic(dir_, "b.x12", "ISA~"));
  EXPECT_EQ(t->connects(), 2);
}

TEST_F(SftpTransportTest, TheHostKeyIsCheckedBeforeLoggingIn) {
  // Pinned: right and wrong.
  KEELSON_ASSERT_OK_AND_ASSIGN(auto pinned, NewSftpTransport(env_.options));
  KEELSON_EXPECT_OK(pinned->MakeDirs(dir_));
  SftpOptions wrong = env_.options;
  wrong.host_key_sha256 = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
  KEELSON_ASSERT_OK_AND_ASSIGN(auto refused, NewSftpTransport(wrong));
  EXPECT_THAT(refused->List(dir_).status(), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(refused->connects(), 0);

  // known_hosts: "[host]:port key" for a port other than 22; another host's line does not count.
  std::ifstream pub(env_.host_key_pub);
  std::string key_type, key_b64;
  pub >> key_type >> key_b64;
  keelson::testing::TempDir tmp;
  {
    std::ofstream kh(tmp.File("known_hosts"));
    kh << "[" << env_.options.host << "]:" << env_.options.port << " " << key_type << " " << key_b64
       << "\n";
    std::ofstream other(tmp.File("other_hosts"));
    other << "[example.com]:" << env_.options.port << " " << key_type << " " << key_b64 << "\n";
  }
  SftpOptions kh = env_.options;
  kh.host_key_sha256.clear();
  kh.known_hosts_file = tmp.File("known_hosts");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto known, NewSftpTransport(kh));
  KEELSON_EXPECT_OK(known->List(dir_).status());
  kh.known_hosts_file = tmp.File("other_hosts");
  KEELSON_ASSERT_OK_AND_ASSIGN(auto unknown, NewSftpTransport(kh));
  EXPECT_THAT(unknown->List(dir_).status(), StatusIs(absl::StatusCode::kPermissionDenied));

  // Tests and demos only: no check at all (logged as a warning).
  SftpOptions any = env_.options;
  any.host_key_sha256.clear();
  any.insecure_accept_any_host_key = true;
  KEELSON_ASSERT_OK_AND_ASSIGN(auto insecure, NewSftpTransport(any));
  KEELSON_EXPECT_OK(insecure->List(dir_).status());

  // None of them, or two: refused before any connection.
  SftpOptions none = env_.options;
  none.host_key_sha256.clear();
  EXPECT_THAT(NewSftpTransport(none).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateSftpOptions(env_.options, "p"), IsEmpty());
  SftpOptions two = env_.options;
  two.insecure_accept_any_host_key = true;
  EXPECT_THAT(ValidateSftpOptions(two, "fulfillment.edi.partners[0].sftp"),
              ElementsAre("fulfillment.edi.partners[0].sftp.known_hosts: give only one of "
                          "known_hosts, host_key_sha256 and insecure_accept_any_host_key"));
}

TEST_F(SftpTransportTest, ALoginWithAnotherKeyIsRefusedAndADeadPortIsUnavailable) {
  SftpOptions o = env_.options;
  // The server's own host key is a valid key nobody authorised for this user.
  o.key_file = env_.host_key_pub.substr(0, env_.host_key_pub.size() - 4);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto t, NewSftpTransport(o));
  EXPECT_THAT(t->List(env_.root).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  SftpOptions dead = env_.options;
  dead.port = 1;  // nothing listens there
  dead.timeout = absl::Seconds(2);
  KEELSON_ASSERT_OK_AND_ASSIGN(auto d, NewSftpTransport(dead));
  EXPECT_THAT(d->List(env_.root).status(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace keelson::edi
