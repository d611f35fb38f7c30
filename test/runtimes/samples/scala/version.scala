// Scala 3: an enum, a top-level @main method (its class is Main) and braceless syntax, none of
// which Scala 2 has.
enum Greeting(val text: String):
  case Hello extends Greeting("hello")

@main def Main(): Unit =
  println(s"${Greeting.Hello.text}, world")
