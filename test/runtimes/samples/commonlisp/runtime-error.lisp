(error "no such thing")
