class Program
{
    static void Main()
    {
        int count = "three";
    }
}
