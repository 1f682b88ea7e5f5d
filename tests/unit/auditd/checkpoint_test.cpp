#include <catch2/catch.hpp>

#include <string>

#include <sys/stat.h>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/signed_note.h"
#include "common/encoding.h"
#include "test_support.h"

using namespace cordon;
using namespace cordon::ledger;
using namespace cordon::ledger::testing;

namespace {

// golang.org/x/mod/sumdb/note's test vector: key, text and the signed note Go produces.
constexpr std::string_view go_private_key = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; // 0x01 || seed
constexpr std::string_view go_verifier_key = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view go_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view go_note =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// A key file holding the Go vector's seed, opened as a signer.
std::unique_ptr<FileCheckpointSigner> go_signer(const TempDir& dir) {
  auto typed = from_base64(go_private_key);
  REQUIRE(typed);
  write_file(dir / "peter.key", std::string(typed->begin() + 1, typed->end()));
  REQUIRE(::chmod((dir / "peter.key").c_str(), 0600) == 0);
  auto signer = FileCheckpointSigner::open(dir / "peter.key", "PeterNeumann");
  REQUIRE(signer);
  return std::move(*signer);
}

NoteVerifierKey go_key() {
  auto key = NoteVerifierKey::parse(go_verifier_key);
  REQUIRE(key);
  return *key;
}

} // namespace

TEST_CASE("the Go sumdb note vector: key ID, verifier key and signature line match byte for byte") {
  TempDir dir;
  const auto signer = go_signer(dir);
  CHECK(note_key_id("PeterNeumann", signer->public_key()) == 0xc74f20a3);
  CHECK(signer->verifier_key().to_string() == go_verifier_key);
  const auto signature = signer->sign(as_bytes(go_text));
  REQUIRE(signature);
  auto note = assemble_signed_note(go_text, signer->name(), 0xc74f20a3, *signature);
  REQUIRE(note);
  CHECK(*note == go_note);
}

TEST_CASE("a signed note opens with its verifier key and returns its text") {
  auto text = open_signed_note(go_note, go_key());
  REQUIRE(text);
  CHECK(*text == go_text);
}

TEST_CASE("a tampered note is refused") {
  std::string note(go_note);
  note[note.find("cryptography")] = 'C';
  auto opened = open_signed_note(note, go_key());
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Errc::integrity);
}

TEST_CASE("a note signed by another key is refused, and other keys' lines are ignored") {
  TempDir dir;
  auto other = FileCheckpointSigner::open(dir / "other.key", "PeterNeumann");
  REQUIRE(other);
  auto forged = sign_checkpoint({"PeterNeumann", 1, empty_root()}, **other);
  REQUIRE(forged);
  auto opened = open_checkpoint(*forged, go_key());
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == Errc::integrity);
  CHECK_THAT(opened.error().message, Catch::Contains("no signature by PeterNeumann"));

  // A cosignature from an unknown witness next to the real one does not matter.
  std::string cosigned(go_note);
  const auto witness = (*other)->sign(as_bytes(go_text));
  cosigned += note_signature_line("witness.example", 0x01020304, *witness);
  CHECK(open_signed_note(cosigned, go_key()));
}

TEST_CASE("a bad signature from the trusted key rejects the note even next to a good one") {
  std::string note(go_note);
  const std::string line = note.substr(note.rfind('\n', note.size() - 2) + 1);
  std::string bad_line = line;
  bad_line[bad_line.size() - 10] = bad_line[bad_line.size() - 10] == 'A' ? 'B' : 'A';
  CHECK_FALSE(open_signed_note(note + bad_line, go_key()));
  CHECK_FALSE(open_signed_note(std::string(go_text) + "\n" + bad_line, go_key()));
}

TEST_CASE("malformed notes are refused") {
  const std::string text(go_text);
  const std::string signature = std::string(go_note).substr(text.size() + 1);
  for (const std::string& bad : {text, text + "\n", text + signature.substr(0, signature.size() - 1),
                                 text + signature, // no blank line
                                 text + "\n" + signature.substr(4), // no em dash
                                 text + "\n-- PeterNeumann x08go/ZJ\n", text + "\n" + signature + "extra line\n",
                                 std::string("bad\x01text\n\n") + signature}) {
    INFO(bad);
    CHECK_FALSE(open_signed_note(bad, go_key()));
  }
}

TEST_CASE("verifier keys are parsed strictly") {
  CHECK(NoteVerifierKey::parse(go_verifier_key)->key_id == 0xc74f20a3);
  CHECK(NoteVerifierKey::parse(go_verifier_key)->name == "PeterNeumann");
  for (const char* bad : {"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // wrong ID
                          "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // uppercase
                          "PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", // other name
                          "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  // bad base64
                          "PeterNeumann+c74f20a3+AhpjZHkFDw4QzEHoMMW84Sqogf7FZJqqvywxOIs1stdE", // type 0x02
                          "PeterNeumann+c74f20a3", "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", ""}) {
    INFO(bad);
    CHECK_FALSE(NoteVerifierKey::parse(bad));
  }
}

TEST_CASE("checkpoints round-trip through signing and verification") {
  TempDir dir;
  const auto signer = go_signer(dir);
  const Checkpoint checkpoint{"cordon.example/acme", 20852163, leaf_hash("root")};
  CHECK(*format_checkpoint(checkpoint) ==
        "cordon.example/acme\n20852163\n" + hash_to_base64(leaf_hash("root")) + "\n");
  auto note = sign_checkpoint(checkpoint, *signer);
  REQUIRE(note);
  CHECK(note->starts_with(*format_checkpoint(checkpoint) + "\n\xe2\x80\x94 PeterNeumann "));
  auto opened = open_checkpoint(*note, signer->verifier_key());
  REQUIRE(opened);
  CHECK(*opened == checkpoint);
  CHECK(open_checkpoint(*note, signer->verifier_key(), "cordon.example/acme"));
  CHECK(open_checkpoint(*note, signer->verifier_key(), "other.example").error().code == Errc::integrity);

  std::string tampered = *note;
  tampered.replace(tampered.find("20852163"), 8, "20852164");
  CHECK(open_checkpoint(tampered, signer->verifier_key()).error().code == Errc::integrity);
}

TEST_CASE("the checkpoint of the empty tree has size 0 and the empty root") {
  TempDir dir;
  const auto signer = go_signer(dir);
  const Checkpoint empty{"cordon.example/acme", 0, empty_root()};
  CHECK(*format_checkpoint(empty) == "cordon.example/acme\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
  auto opened = open_checkpoint(*sign_checkpoint(empty, *signer), signer->verifier_key());
  REQUIRE(opened);
  CHECK(*opened == empty);
}

TEST_CASE("checkpoint bodies are parsed strictly") {
  const std::string root = hash_to_base64(empty_root());
  CHECK(parse_checkpoint("o\n5\n" + root + "\n"));
  for (const std::string& bad : {"o\n5\n" + root, "o\n5\n" + root + "\nextension\n", "\n5\n" + root + "\n",
                                 "o\n05\n" + root + "\n", "o\n-5\n" + root + "\n", "o\n5x\n" + root + "\n",
                                 "o\n\n" + root + "\n", std::string("o\n5\nAAAA\n"), "o\n18446744073709551616\n" + root + "\n",
                                 "o\r\n5\n" + root + "\n", std::string("o\0x\n5\n", 7) + root + "\n"}) {
    INFO(bad);
    CHECK(parse_checkpoint(bad).error().code == Errc::invalid_argument);
  }
}

TEST_CASE("the file signer creates a 0600 key once and reuses it") {
  TempDir dir;
  const auto path = dir / "checkpoint.key";
  auto first = FileCheckpointSigner::open(path, "cordon.example/acme");
  REQUIRE(first);
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0600);
  CHECK(status.st_size == 32);
  auto second = FileCheckpointSigner::open(path, "cordon.example/acme");
  REQUIRE(second);
  CHECK((*first)->public_key() == (*second)->public_key());
  CHECK((*second)->verifier_key().to_string().starts_with("cordon.example/acme+"));
}

TEST_CASE("the file signer refuses a key file others can read, a symlink, or a wrong size") {
  TempDir dir;
  const auto path = dir / "checkpoint.key";
  REQUIRE(FileCheckpointSigner::open(path, "log"));
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  auto loose = FileCheckpointSigner::open(path, "log");
  REQUIRE_FALSE(loose);
  CHECK(loose.error().code == Errc::permission_denied);
  CHECK_THAT(loose.error().message, Catch::Contains("0640"));

  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  std::filesystem::create_symlink(path, dir / "link.key");
  CHECK(FileCheckpointSigner::open(dir / "link.key", "log").error().code == Errc::permission_denied);

  write_file(dir / "short.key", std::string(31, 'k'));
  REQUIRE(::chmod((dir / "short.key").c_str(), 0600) == 0);
  CHECK(FileCheckpointSigner::open(dir / "short.key", "log").error().code == Errc::integrity);
  CHECK(FileCheckpointSigner::open(dir / "x.key", "bad name").error().code == Errc::invalid_argument);
  CHECK(FileCheckpointSigner::open(dir / "x.key", "a+b").error().code == Errc::invalid_argument);
}
