import Config

config :corpus_app, :limits, cpu: [soft: 1, hard: 2], mem: 512
config :corpus_app, :limits, cpu: [hard: 4], disk: %{"root" => 10}
config :corpus_app, :limits, mem: [unit: :mb]

config :corpus_app,
  banner: """
    Welcome, #{String.upcase("corpus")}!
    Second line\tindented
  """,
  chars: ~c(abc),
  words: ~W(x #{y}),
  raw: ~S(no #{interp}\n),
  empty: []

config :corpus_app, empty: [a: 1]
config :corpus_app, other: nil
