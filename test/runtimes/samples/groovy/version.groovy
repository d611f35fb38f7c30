// Groovy 4 and later: a switch expression with arrows, which Groovy 3 and older cannot parse.
def word = { int n ->
    switch (n) {
        case 0 -> 'hello'
        case 1 -> 'world'
        default -> '?'
    }
}
println "${word(0)}, ${word(1)}"
