println "hello, world"
