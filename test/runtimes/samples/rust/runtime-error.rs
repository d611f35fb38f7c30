fn main() {
    let values = vec![1, 2, 3];
    let index = values.len() + std::env::args().count();
    println!("{}", values[index]);
}
