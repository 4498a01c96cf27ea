import assert from "node:assert/strict";
import { parseJson } from "../../sim/strict_json.ts";

Deno.test("a key with escaped quotes or backslashes is read whole when looking for one given twice", () => {
  assert.throws(
    () => parseJson(String.raw`{"a\"b": 1, "a\"b": 2}`),
    /^Error: a"b: key given twice$/,
  );
  assert.throws(
    () => parseJson(String.raw`{"say \"hi\"": 1, "say \"hi\"": 2}`),
    /^Error: say "hi": key given twice$/,
  );
  // A backslash escaped before the closing quote: the key ends there, and "k" is in two objects.
  assert.deepEqual(parseJson(String.raw`{"x\\": {"k": 1}, "k": 2}`), { "x\\": { k: 1 }, k: 2 });
  assert.deepEqual(parseJson(String.raw`{"q": "a\"b", "r": "c\"d"}`), { q: 'a"b', r: 'c"d' });
});

Deno.test("a path of up to 13 keys is named whole, a longer one by its 6 first and 6 last", () => {
  /** `depth` objects nested under keys k1, k2, ..., the innermost giving `a` twice. */
  const nested = (depth: number) => {
    let text = '{"a": 1, "a": 2}';
    for (let k = depth; k >= 1; k--) text = `{"k${k}": ${text}}`;
    return text;
  };
  // 12 keys above the duplicate and the duplicate itself: 13 names, all shown.
  assert.throws(
    () => parseJson(nested(12)),
    /^Error: k1\.k2\.k3\.k4\.k5\.k6\.k7\.k8\.k9\.k10\.k11\.k12\.a: key given twice$/,
  );
  assert.throws(
    () => parseJson(nested(13)),
    /^Error: k1\.k2\.k3\.k4\.k5\.k6\.\(2 more\)\.k9\.k10\.k11\.k12\.k13\.a: key given twice$/,
  );
});

Deno.test("a key given twice is found whatever JSON whitespace precedes its colon, and named by array index", () => {
  for (const space of [" ", "\t", "\n", "\r"]) {
    assert.throws(
      () => parseJson(`{"a"${space}: 1, "a"${space}: 2}`),
      /^Error: a: key given twice$/,
      JSON.stringify(space),
    );
  }
  assert.throws(
    () => parseJson('{"list": [1, 2, {"k": 1, "k": 2}]}'),
    /^Error: list\.2\.k: key given twice$/,
  );
});

Deno.test("only a string followed by a colon is a key: equal values in one object are no key given twice", () => {
  assert.deepEqual(parseJson('{"a": "x", "b": "x", "c": ["x", "x"]}'), {
    a: "x",
    b: "x",
    c: ["x", "x"],
  });
  // A value equal to a key of its object is no second key either.
  assert.deepEqual(parseJson('{"a": "a"}'), { a: "a" });
});

Deno.test("a syntax error is placed by position, line and column, never by quoting the text around it", () => {
  const cases: [string, string][] = [
    // A trailing comma, the commonest slip, and values JSON does not have.
    ["[1,\n  2,\n]", "Unexpected token ']' in JSON at position 9 (line 3 column 1)"],
    ['{"a": nan}', "Unexpected token 'a' in JSON at position 7 (line 1 column 8)"],
    ['{"a": tru}', "Unexpected token '}' in JSON at position 9 (line 1 column 10)"],
    ['{"a": .5}', "Unexpected token '.' in JSON at position 6 (line 1 column 7)"],
    ['{"a" :: 2}', "Unexpected token ':' in JSON at position 6 (line 1 column 7)"],
    ['{"a": [}', "Unexpected token '}' in JSON at position 7 (line 1 column 8)"],
    // An escaped quote or backslash inside a string neither ends nor extends it.
    ['{"a\\"": nan}', "Unexpected token 'a' in JSON at position 9 (line 1 column 10)"],
    ['["\\\\", nan]', "Unexpected token 'a' in JSON at position 8 (line 1 column 9)"],
    // Lines end at CRLF, CR or LF, as the parser's own positioned messages count them.
    ['{\r\n"a": 1,\r"b": +5}', "Unexpected token '+' in JSON at position 16 (line 3 column 6)"],
    // A character that cannot be shown as it is is escaped.
    ["[\u0001]", "Unexpected token '\\u0001' in JSON at position 1 (line 1 column 2)"],
    // A character beyond 16 bits is shown whole, not as half of its surrogate pair.
    ["[\u{1F600}]", "Unexpected token '\u{1F600}' in JSON at position 1 (line 1 column 2)"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseJson(text), (error: Error) => {
      assert.ok(error instanceof SyntaxError, JSON.stringify(text));
      assert.equal(error.message, message, JSON.stringify(text));
      return true;
    });
  }
  // The parser's messages that place the error already are kept as they are.
  assert.throws(
    () => parseJson('{"a" 1}'),
    /^SyntaxError: Expected ':' after property name in JSON at position 5 \(line 1 column 6\)$/,
  );
});
