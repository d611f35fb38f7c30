void main()
{
    throw new Exception("no such thing");
}
