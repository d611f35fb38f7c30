let a: int = "hello"
echo a
