fun main() {
    val count: Int = "three"
    println(count)
}
