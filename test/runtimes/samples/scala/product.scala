object Main {
  def main(args: Array[String]): Unit = {
    val numbers = scala.io.Source.stdin.mkString.trim.split("\\s+").map(_.toLong)
    println(numbers(0) * numbers(1))
  }
}
