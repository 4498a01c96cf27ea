import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { expandHome } from "../../cli/home_path.ts";

Deno.test("a leading ~ alone or before a slash is the home directory", () => {
  assert.equal(expandHome("~"), homedir());
  assert.equal(expandHome("~/"), join(homedir(), "/"));
  assert.equal(expandHome("~/runs/a"), join(homedir(), "runs/a"));
});

Deno.test("a ~ anywhere else is part of the name", () => {
  // `~user` is another user's home to the shell; taos does not look users up, so it is left as
  // written rather than turned into a path under this user's home.
  for (const path of ["~x/state.db", "~~", "runs/~/a", "./~", "a~", "", "/~/x"]) {
    assert.equal(expandHome(path), path, path);
  }
});
