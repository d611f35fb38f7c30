(println "hello, world")
