using DigitalPost.Silo;

var builder = WebApplication.CreateBuilder(args);
builder.AddDigitalPostSilo();
var app = builder.Build();
app.MapDigitalPost();
app.Run();

public partial class Program;
