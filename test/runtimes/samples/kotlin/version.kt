// Kotlin 2.2 and later: a guard in a when branch (`is Named if ...`); a data object, whose
// toString is its name, needs 1.9 already.
sealed interface Greeting
data object World : Greeting
data class Named(val name: String) : Greeting

fun greet(greeting: Greeting): String = when (greeting) {
    is Named if greeting.name.isEmpty() -> "hello, nobody"
    is Named -> "hello, ${greeting.name}"
    World -> "hello, ${greeting.toString().lowercase()}"
}

fun main() {
    println(greet(World))
}
