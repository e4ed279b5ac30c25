// The HTML parse mode: entities as the Bot API reports them, and Telegram's parse errors.
import { describe, expect, it } from "vitest";
import { HtmlParseError, parseHtml, trimFormatted } from "../../src/sandbox/html.js";

describe("parseHtml", () => {
  it("turns Telegram's tags into entities with UTF-16 offsets", () => {
    expect(
      parseHtml("😀 <b>bold <i>both</i></b> <u>u</u><s>s</s><tg-spoiler>x</tg-spoiler>"),
    ).toEqual({
      text: "😀 bold both usx",
      entities: [
        { type: "bold", offset: 3, length: 9 },
        { type: "italic", offset: 8, length: 4 },
        { type: "underline", offset: 13, length: 1 },
        { type: "strikethrough", offset: 14, length: 1 },
        { type: "spoiler", offset: 15, length: 1 },
      ],
    });
  });

  it("accepts synonyms, upper case tags and the span spoiler", () => {
    const parsed = parseHtml(
      '<STRONG>a</STRONG><em>b</em><ins>c</ins><del>d</del><strike>e</strike><span class="tg-spoiler">f</span>',
    );
    expect(parsed.entities.map((e) => e.type)).toEqual([
      "bold",
      "italic",
      "underline",
      "strikethrough",
      "strikethrough",
      "spoiler",
    ]);
  });

  it("decodes the four named entities and numeric ones", () => {
    expect(parseHtml("&lt;&gt;&amp;&quot; &#60;&#x3E; &amp x").text).toBe('<>&" <> & x');
  });

  it("makes links, mentions and pre blocks with a language", () => {
    const parsed = parseHtml(
      '<a href="https://example.org/a?b=1&amp;c=2">site</a> <a href=\'tg://user?id=42\'>Ada</a> <a href="javascript:x">bad</a> <pre><code class="language-python">x = 1</code></pre> <code>y</code> <blockquote expandable>q</blockquote>',
    );
    expect(parsed.text).toBe("site Ada bad x = 1 y q");
    expect(parsed.entities).toEqual([
      { type: "text_link", offset: 0, length: 4, url: "https://example.org/a?b=1&c=2" },
      {
        type: "text_mention",
        offset: 5,
        length: 3,
        user: { id: 42, is_bot: false, first_name: "" },
      },
      { type: "pre", offset: 13, length: 5, language: "python" },
      { type: "code", offset: 19, length: 1 },
      { type: "expandable_blockquote", offset: 21, length: 1 },
    ]);
  });

  it.each([
    ["<b>x", "Can't find end tag corresponding to start tag b"],
    ["<b", "Unclosed start tag at byte offset 0"],
    ["<b>x</b", "Unclosed end tag at byte offset 4"],
    ['<a href=x"y">z</a>', "Unexpected end of name token at byte offset 8"],
    ["<a =x>z</a>", 'Empty attribute name in the tag "a" at byte offset 0'],
    ["<tg-emoji emoji-id=abc>x</tg-emoji>", "Invalid custom emoji identifier specified"],
    ["a &nbsp; b", 'Unescaped "&" at byte offset 2 (sandbox strict mode; use &amp;)'],
    [
      "&#xD800;",
      "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
    ],
  ])("rejects %j", (source, message) => {
    expect(() => parseHtml(source)).toThrow(new HtmlParseError(message));
  });

  it("keeps a bare & like Telegram when not strict", () => {
    expect(parseHtml("Tom & Jerry &nbsp;", { strict: false }).text).toBe("Tom & Jerry &nbsp;");
  });

  it("trims surrounding whitespace and keeps entities aligned", () => {
    expect(trimFormatted(parseHtml("  <b> hi</b> there \n"))).toEqual({
      text: "hi there",
      entities: [{ type: "bold", offset: 0, length: 2 }],
    });
  });
});
