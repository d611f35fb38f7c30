fun main() {
    val values = listOf(1, 2, 3)
    println(values[values.size])
}
