import Config

# Standard-library values whose rules differ from other languages'.
config :corpus_app,
  joined: Path.join("priv", "/static"),
  joined_list: Path.join(["a/", "/b", "c/"]),
  dir: Path.dirname("/srv/app/releases/"),
  base: Path.basename("/srv/app/releases/"),
  no_home: Path.basename(Path.expand("~app")),
  words: String.split("  web   api "),
  fields: String.split(",a,,b,", ","),
  swapped: String.replace("a-b-c", "-", "_"),
  upcased: String.upcase("straße"),
  hex: Base.encode16("relpack", case: :lower),
  b64: Base.url_encode64(<<255, 254, 253>>),
  merged: Keyword.merge([a: 1, b: 2, a: 3], b: 4)
