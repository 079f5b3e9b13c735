import Config

# A random secret made at build time: its value changes each build, its size does not.
secret = :crypto.strong_rand_bytes(48) |> Base.encode64()

config :corpus_app, secret_size: byte_size(secret)
