#include <catch2/catch.hpp>

#include "approvald/policy/glob.h"

using cordon::approvald::glob_match;

TEST_CASE("a glob without wildcards matches only itself") {
  CHECK(glob_match("sql.query", "sql.query"));
  CHECK_FALSE(glob_match("sql.query", "sql.query2"));
  CHECK_FALSE(glob_match("sql.query", "sql.quer"));
  CHECK(glob_match("", ""));
  CHECK_FALSE(glob_match("", "a"));
}

TEST_CASE("a single star stops at a slash and a double star does not") {
  CHECK(glob_match("sql.*", "sql.query"));
  CHECK(glob_match("*", "fs.read"));
  CHECK(glob_match("src/*", "src/main.c"));
  CHECK_FALSE(glob_match("src/*", "src/lib/util.c"));
  CHECK(glob_match("src/**", "src/lib/util.c"));
  CHECK(glob_match("sql:billing/**", "sql:billing/public.invoices"));
  CHECK(glob_match("**.c", "a/b/c.c"));
  CHECK_FALSE(glob_match("*.c", "a/b.c"));
}

TEST_CASE("a question mark matches one character but not a slash") {
  CHECK(glob_match("v?", "v1"));
  CHECK_FALSE(glob_match("v?", "v"));
  CHECK_FALSE(glob_match("a?b", "a/b"));
}

TEST_CASE("a pattern of many stars over a long text answers without blowing up") {
  const std::string text(20000, 'a');
  CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*b", text));
  CHECK(glob_match("**a*a*a*a*a*a*a*a*a*a", text));
}
